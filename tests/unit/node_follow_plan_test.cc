// FollowPlan (node/cluster/follow_plan.h): which voter an observer follows, and how
// fast it gives a source up.
#include <gtest/gtest.h>

#include <vector>

#include "node/cluster/follow_plan.h"

namespace shoal::node {
namespace {

NodeId id(uint64_t n) { return NodeId(0, n); }
TimePoint at(Duration d) { return time_at(d); }

class FollowPlanTest : public ::testing::Test {
 protected:
  std::vector<NodeId> voters{id(1), id(2), id(3)};
  NodeId self = id(9);
  FollowPlan plan;
  // The request sent at `t`, which must exist.
  FollowPlan::Request must_send(Duration t) {
    auto r = plan.next(at(t), voters, self);
    EXPECT_TRUE(r.has_value()) << "nothing sent at " << format_duration(t);
    return r.value_or(FollowPlan::Request{});
  }
};

TEST_F(FollowPlanTest, KeepsOneSourceAndLongPollsIt) {
  auto first = must_send(0s);
  EXPECT_EQ(first.wait, 1s);
  EXPECT_FALSE(plan.next(at(100ms), voters, self)) << "one request at a time";
  // Held for the whole wait and answered with nothing: asks again at once,
  // from the same voter.
  EXPECT_EQ(plan.answered(first.id, at(1s), false, false, false), FollowPlan::Answer::kAccepted);
  auto second = must_send(1s);
  EXPECT_EQ(second.to, first.to);
  EXPECT_NE(second.id, first.id);
  EXPECT_FALSE(plan.take_probe_wanted());
}

TEST_F(FollowPlanTest, NewsIsFollowedAtOnceButAnEmptyQuickAnswerWaits) {
  auto r = must_send(0s);
  plan.answered(r.id, at(2ms), /*news=*/true, false, false);
  r = must_send(2ms);
  // Answered at once with nothing (a voter that does not hold): no tight loop.
  plan.answered(r.id, at(4ms), false, false, false);
  EXPECT_FALSE(plan.next(at(100ms), voters, self));
  must_send(204ms);
}

TEST_F(FollowPlanTest, ABrokenConnectionMovesToAnotherVoterAtOnceAndProbes) {
  auto r = must_send(0s);
  plan.failed(r.to, at(300ms));
  EXPECT_TRUE(plan.take_probe_wanted());
  EXPECT_FALSE(plan.take_probe_wanted()) << "the flag clears";
  auto next = must_send(300ms);
  EXPECT_NE(next.to, r.to);
  EXPECT_TRUE(plan.avoided(r.to, at(300ms)));
  EXPECT_EQ(plan.failovers(), 1u);
  // The late answer of the abandoned request changes nothing.
  EXPECT_EQ(plan.answered(r.id, at(400ms), true, false, false), FollowPlan::Answer::kIgnored);
  EXPECT_TRUE(plan.inflight());
}

TEST_F(FollowPlanTest, AFailureOfAnotherPeerOnlyAvoidsIt) {
  auto r = must_send(0s);
  NodeId other = r.to == id(1) ? id(2) : id(1);
  plan.failed(other, at(10ms));
  EXPECT_FALSE(plan.take_probe_wanted());
  EXPECT_TRUE(plan.inflight());
  EXPECT_EQ(plan.source(), r.to);
}

TEST_F(FollowPlanTest, SilenceBeyondTheWaitGivesTheSourceUp) {
  auto r = must_send(0s);
  EXPECT_FALSE(plan.next(at(1499ms), voters, self)) << "within wait + slack";
  auto next = must_send(1500ms);
  EXPECT_NE(next.to, r.to);
  EXPECT_TRUE(plan.take_probe_wanted());
}

TEST_F(FollowPlanTest, ASourceBehindTheKnownTermIsLeftAtOnce) {
  auto r = must_send(0s);
  plan.answered(r.id, at(1s), false, false, /*behind=*/true);
  EXPECT_TRUE(plan.take_probe_wanted());
  EXPECT_NE(must_send(1s).to, r.to);
}

TEST_F(FollowPlanTest, AnErrorAnswerRetriesLaterElsewhere) {
  auto r = must_send(0s);
  plan.answered(r.id, at(5ms), false, /*error=*/true, false);
  EXPECT_FALSE(plan.next(at(500ms), voters, self));
  EXPECT_NE(must_send(1005ms).to, r.to);
}

TEST_F(FollowPlanTest, WhenEveryVoterFailedTheFirstToRecoverIsTried) {
  plan.failed(id(2), at(0s));
  plan.failed(id(3), at(100ms));
  plan.failed(id(1), at(200ms));
  auto r = must_send(300ms);
  EXPECT_EQ(r.to, id(2)) << "its avoidance ends first";
}

TEST_F(FollowPlanTest, AGoneSourceIsReplaced) {
  auto r = must_send(0s);
  plan.answered(r.id, at(1s), false, false, false);
  std::erase(voters, r.to);  // gossip no longer lists it as a usable voter
  EXPECT_NE(must_send(1s).to, r.to);
}

TEST_F(FollowPlanTest, NoVoterNoRequest) {
  voters.clear();
  EXPECT_FALSE(plan.next(at(0s), voters, self));
  voters = {self};
  EXPECT_FALSE(plan.next(at(0s), voters, self)) << "never itself";
}

TEST(FollowPlan, ObserversSpreadOverTheVoters) {
  std::vector<NodeId> voters{id(1), id(2), id(3)};
  std::vector<int> count(4, 0);
  for (uint64_t o = 100; o < 400; ++o) {
    FollowPlan p;
    auto r = p.next(at(0s), voters, NodeId(o * 7919, o));
    ASSERT_TRUE(r);
    ++count[r->to.lo()];
  }
  for (int v = 1; v <= 3; ++v) EXPECT_GT(count[v], 50) << "voter " << v;
}

}  // namespace
}  // namespace shoal::node
