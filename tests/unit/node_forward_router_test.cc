// ForwardRouter (node/cluster/forward_router.h): what becomes of a request forwarded
// to the leader or waiting for one, on plain ints and strings (no HTTP).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "node/cluster/cluster_rpc.h"
#include "node/cluster/forward_router.h"

namespace shoal::node {
namespace {

// A request is an int; the leader's answer a string; a connection the
// leader's NodeId.
using Router = ForwardRouter<int, std::string>;
using Kind = Router::Action::Kind;

TimePoint at(Duration d) { return time_at(d); }

const NodeId kSelf(0, 1);
const NodeId kA(0, 2);
const NodeId kB(0, 3);

LeaderView none() { return LeaderView{kSelf, NodeId(), false, false}; }
LeaderView led_by(const NodeId& leader) { return LeaderView{kSelf, leader, false, true}; }
LeaderView self_leads() { return LeaderView{kSelf, kSelf, true, false}; }

// Sent to `leader` on its connection.
Router::Forward sent_to(const NodeId& leader, bool retryable, bool read) {
  Router::Forward f;
  f.leader = leader;
  f.to = leader;
  f.retryable = retryable;
  f.read = read;
  return f;
}

TEST(LeaderView, UsableLeaders) {
  struct Case {
    const char* what;
    LeaderView v;
    NodeId avoid;
    bool usable;
  };
  const Case cases[] = {
      {"no leader", none(), {}, false},
      {"another agent leads", led_by(kA), {}, true},
      {"... but it is avoided", led_by(kA), kA, false},
      {"... and another is avoided", led_by(kA), kB, true},
      {"its RPC address is unknown", LeaderView{kSelf, kA, false, false}, {}, false},
      {"gossip says we lead, Raft does not", LeaderView{kSelf, kSelf, false, true}, {}, false},
      {"this agent leads", self_leads(), {}, true},
      {"this agent leads but just failed it", self_leads(), kSelf, false},
  };
  for (const Case& c : cases) EXPECT_EQ(c.v.usable(c.avoid), c.usable) << c.what;
}

TEST(ForwardRoute, SendWaitOr503) {
  using RK = ForwardRoute::Kind;
  struct Case {
    const char* what;
    uint8_t hops;
    LeaderView v;
    RK kind;
    NodeId avoid;
  };
  const Case cases[] = {
      {"own client, a reachable leader", 0, led_by(kA), RK::kSend, {}},
      {"forwarded once, a reachable leader", 1, led_by(kA), RK::kSend, {}},
      {"forwarded twice: the agents disagree", kMaxForwardHops, led_by(kA), RK::kUnavailable, {}},
      {"own client, no leader", 0, none(), RK::kWait, {}},
      {"forwarded, no leader", 1, none(), RK::kUnavailable, {}},
      {"own client, we are the leader by gossip", 0, LeaderView{kSelf, kSelf, false, true},
       RK::kWait, kSelf},
      {"own client, the leader's address unknown",
       0,
       LeaderView{kSelf, kA, false, false},
       RK::kWait,
       {}},
  };
  for (const Case& c : cases) {
    const ForwardRoute r = route_forward(c.hops, c.v);
    EXPECT_EQ(r.kind, c.kind) << c.what;
    EXPECT_EQ(r.avoid, c.avoid) << c.what;
    EXPECT_EQ(r.why.empty(), c.kind == RK::kSend) << c.what;
  }
}

TEST(ForwardRouter, AnAnswerInTimeIsDelivered) {
  Router r;
  const uint64_t id = r.add(1, sent_to(kA, true, false), at(0s));
  EXPECT_EQ(r.next_deadline(), at(kForwardTimeout));
  auto a = r.answered(id, "ok", false, at(1s));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Kind::kDeliver);
  EXPECT_EQ(a->handle, 1);
  EXPECT_EQ(a->response, "ok");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.next_deadline());
  EXPECT_FALSE(r.answered(id, "late", false, at(2s))) << "answered once";
  EXPECT_NE(r.add(2, sent_to(kA, true, false), at(2s)), id) << "ids are not reused";
}

// What becomes of a request the leader will not answer, by the way it was
// lost: a write may have been applied (504); a read of our own client waits
// for a leader again; what never left waits again (own client) or is 503.
TEST(ForwardRouter, LostRequestsBy503Or504OrWaitingAgain) {
  enum class Lost { kTimeout, kOpenConnectionBroke, kConnectionNeverOpened, kSendRefused };
  struct Case {
    const char* what;
    Lost lost;
    bool retryable;
    bool read;
    std::optional<Kind> kind;  // nullopt: waits for a leader again
  };
  const Case cases[] = {
      {"timeout, own write", Lost::kTimeout, true, false, Kind::kOutcomeUnknown},
      {"timeout, own read", Lost::kTimeout, true, true, std::nullopt},
      {"timeout, forwarded read", Lost::kTimeout, false, true, Kind::kOutcomeUnknown},
      {"broke, own write", Lost::kOpenConnectionBroke, true, false, Kind::kOutcomeUnknown},
      {"broke, own read", Lost::kOpenConnectionBroke, true, true, std::nullopt},
      {"broke, forwarded write", Lost::kOpenConnectionBroke, false, false, Kind::kOutcomeUnknown},
      {"never opened, own write", Lost::kConnectionNeverOpened, true, false, std::nullopt},
      {"never opened, forwarded write", Lost::kConnectionNeverOpened, false, false,
       Kind::kUnavailable},
      {"refused, own write", Lost::kSendRefused, true, false, std::nullopt},
      {"refused, forwarded read", Lost::kSendRefused, false, true, Kind::kUnavailable},
  };
  for (const Case& c : cases) {
    Router r;
    const uint64_t id = r.add(7, sent_to(kA, c.retryable, c.read), at(0s));
    r.add(8, sent_to(kB, c.retryable, c.read), at(1s));  // elsewhere, later: untouched
    std::vector<Router::Action> out;
    TimePoint now;
    switch (c.lost) {
      case Lost::kTimeout:
        now = at(kForwardTimeout);
        EXPECT_TRUE(r.take_due(now - 1ns, none()).empty()) << c.what;
        out = r.take_due(now, none());
        break;
      case Lost::kOpenConnectionBroke:
        now = at(3s);
        out = r.connection_failed(kA, true, now);
        break;
      case Lost::kConnectionNeverOpened:
        now = at(3s);
        out = r.connection_failed(kA, false, now);
        break;
      case Lost::kSendRefused:
        now = at(3s);
        if (auto a = r.send_failed(id, "queue full", now)) out.push_back(std::move(*a));
        break;
    }
    EXPECT_EQ(r.forwarded(), 1u) << c.what;
    if (c.kind) {
      ASSERT_EQ(out.size(), 1u) << c.what;
      EXPECT_EQ(out[0].kind, *c.kind) << c.what;
      EXPECT_EQ(out[0].handle, 7) << c.what;
      EXPECT_FALSE(out[0].why.empty()) << c.what;
      EXPECT_EQ(r.waiting(), 0u) << c.what;
      continue;
    }
    // Waits, avoiding the leader that lost it; looked at at once (a timed
    // out one was, by the take_due() that found it).
    EXPECT_TRUE(out.empty()) << c.what;
    EXPECT_EQ(r.waiting(), 1u) << c.what;
    if (c.lost != Lost::kTimeout) {
      EXPECT_EQ(r.next_deadline(), now) << c.what;
    }
    EXPECT_TRUE(r.take_due(now, led_by(kA)).empty()) << c.what << ": kA is avoided";
    out = r.take_due(now, led_by(kB));
    ASSERT_EQ(out.size(), 1u) << c.what;
    EXPECT_EQ(out[0].kind, Kind::kDispatch) << c.what;
    EXPECT_EQ(out[0].handle, 7) << c.what;
    EXPECT_EQ(out[0].wait_until, now + kLeaderWait) << c.what;
  }
}

TEST(ForwardRouter, ALeadersRefusalWaitsAndIsTheAnswerAtTheEnd) {
  Router r;
  // Own client: waits for the next leader; at the end of its wait it gets
  // the leader's own 503.
  const uint64_t own = r.add(1, sent_to(kA, true, false), at(0s));
  EXPECT_FALSE(r.answered(own, "503 stepping down", true, at(1s)));
  EXPECT_EQ(r.waiting(), 1u);
  EXPECT_TRUE(r.take_due(at(1s), led_by(kA)).empty());
  EXPECT_TRUE(r.take_due(at(3s) - 1ns, none()).empty());
  auto out = r.take_due(at(3s), none());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDeliver);
  EXPECT_EQ(out[0].response, "503 stepping down");

  // Forwarded here: the refusal goes back at once; its agent waits.
  const uint64_t fwd = r.add(2, sent_to(kA, false, false), at(4s));
  auto a = r.answered(fwd, "503 stepping down", true, at(5s));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Kind::kDeliver);
  EXPECT_TRUE(r.empty());
}

TEST(ForwardRouter, ANewLeaderReleasesForwardsToTheOldOneAfterTheGrace) {
  Router r;
  r.add(1, sent_to(kA, true, false), at(0s));  // a write
  r.add(2, sent_to(kA, true, true), at(0s));   // a read
  Router::Forward transfer = sent_to(kA, true, false);
  transfer.releasable = false;  // /v1/raft/transfer-leader
  r.add(3, transfer, at(0s));

  r.on_leader(NodeId(), at(1s));  // an election: nothing known yet
  r.on_leader(kA, at(1s));        // the same leader
  EXPECT_EQ(r.next_deadline(), at(kForwardTimeout));

  r.on_leader(kB, at(2s));
  r.add(4, sent_to(kB, true, false), at(2s));  // to the new leader
  EXPECT_EQ(r.next_deadline(), at(2s) + kOldLeaderGrace);
  r.on_leader(kB, at(2100ms));  // again: the grace does not start over
  EXPECT_EQ(r.next_deadline(), at(2s) + kOldLeaderGrace);
  EXPECT_TRUE(r.take_due(at(2s) + kOldLeaderGrace - 1ns, led_by(kB)).empty());

  auto out = r.take_due(at(2s) + kOldLeaderGrace, led_by(kB));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].handle, 1);
  EXPECT_EQ(out[0].kind, Kind::kOutcomeUnknown) << "the old leader may have applied it";
  EXPECT_NE(out[0].why.find("leadership moved"), std::string::npos);
  EXPECT_EQ(out[1].handle, 2);
  EXPECT_EQ(out[1].kind, Kind::kDispatch) << "the read goes to the new leader";
  EXPECT_EQ(r.forwarded(), 2u) << "the transfer and the forward to kB stay";
  EXPECT_EQ(r.next_deadline(), at(kForwardTimeout));
}

TEST(ForwardRouter, AWaiterIsDispatchedOnceAUsableLeaderIsThere) {
  Router r;
  EXPECT_FALSE(r.wait(1, "no leader", NodeId(), std::nullopt, at(0s)));
  EXPECT_EQ(r.next_deadline(), at(0s)) << "looked at at once, by take_due";
  EXPECT_TRUE(r.take_due(at(0s), none()).empty());
  EXPECT_EQ(r.next_deadline(), at(0s) + kLeaderWaitPoll);
  EXPECT_TRUE(r.take_due(at(50ms), LeaderView{kSelf, kA, false, false}).empty())
      << "its address is not known yet";
  auto out = r.take_due(at(100ms), led_by(kA));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDispatch);
  EXPECT_EQ(out[0].wait_until, at(kLeaderWait));
  EXPECT_TRUE(r.empty());

  // This agent becomes the leader.
  r.wait(2, "no leader", NodeId(), std::nullopt, at(1s));
  out = r.take_due(at(1s), self_leads());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDispatch);
}

TEST(ForwardRouter, AnAvoidedLeaderIsUsedAgainAfterKAvoidFor) {
  struct Case {
    const char* what;
    NodeId avoid;
    LeaderView v;
  };
  const Case cases[] = {
      {"another agent failed it", kA, led_by(kA)},
      {"this agent, leading, failed it", kSelf, self_leads()},
  };
  for (const Case& c : cases) {
    Router r;
    r.wait(1, "failed", c.avoid, std::nullopt, at(0s));
    EXPECT_TRUE(r.take_due(at(0s), c.v).empty()) << c.what;
    EXPECT_EQ(r.next_deadline(), at(kLeaderWaitPoll)) << c.what;
    // Between the polls, the end of the avoidance is a deadline of its own.
    EXPECT_TRUE(r.take_due(at(450ms) + 1ns, c.v).empty()) << c.what;
    EXPECT_EQ(r.next_deadline(), at(kAvoidFor)) << c.what;
    EXPECT_TRUE(r.take_due(at(kAvoidFor) - 1ns, c.v).empty()) << c.what;
    auto out = r.take_due(at(kAvoidFor), c.v);
    ASSERT_EQ(out.size(), 1u) << c.what;
    EXPECT_EQ(out[0].kind, Kind::kDispatch) << c.what;
  }
}

TEST(ForwardRouter, AWaitEndsIn503AtItsDeadlineHoweverOftenItWaits) {
  Router r;
  r.wait(1, "no leader", NodeId(), std::nullopt, at(0s));
  auto out = r.take_due(at(500ms), led_by(kA));
  ASSERT_EQ(out.size(), 1u);
  const TimePoint until = out[0].wait_until;
  EXPECT_EQ(until, at(kLeaderWait));

  // Dispatched again, forwarded, lost before it left: the wait goes on to
  // the same end.
  Router::Forward f = sent_to(kA, true, false);
  f.wait_until = until;
  r.add(1, f, at(600ms));
  EXPECT_TRUE(r.connection_failed(kA, false, at(700ms)).empty());
  EXPECT_TRUE(r.take_due(until - 1ns, none()).empty());
  EXPECT_EQ(r.next_deadline(), until) << "sooner than the next poll";
  out = r.take_due(until, none());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kUnavailable);
  EXPECT_EQ(out[0].why, "cannot reach the leader");

  // Past its end already: answered at once.
  auto a = r.wait(2, "no leader", NodeId(), at(1s), at(1s));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Kind::kUnavailable);
  EXPECT_EQ(a->why, "no leader");
  EXPECT_TRUE(r.empty());
}

TEST(ForwardRouter, AWaiterWhoseClientWentAwayIsAnswered) {
  Router r;
  r.wait(1, "no leader", NodeId(), std::nullopt, at(0s));
  r.wait(2, "no leader", NodeId(), std::nullopt, at(0s));
  auto out = r.take_due(at(10ms), none(), [](int h) { return h == 2; });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].handle, 2);
  EXPECT_EQ(out[0].kind, Kind::kUnavailable);
  EXPECT_EQ(r.waiting(), 1u);
}

TEST(ForwardRouter, StoppingAnswersEverything) {
  Router r;
  r.add(1, sent_to(kA, true, false), at(0s));
  r.wait(2, "no leader", NodeId(), std::nullopt, at(0s));
  const uint64_t refused = r.add(3, sent_to(kA, true, false), at(0s));
  r.answered(refused, "503 from the leader", true, at(0s));
  auto out = r.take_all();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Kind::kOutcomeUnknown) << "it was sent";
  EXPECT_EQ(out[1].kind, Kind::kUnavailable) << "it was not";
  EXPECT_EQ(out[2].kind, Kind::kDeliver);
  EXPECT_EQ(out[2].response, "503 from the leader");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.next_deadline());
}

}  // namespace
}  // namespace shoal::node
