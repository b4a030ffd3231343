// A few cores on a zero-latency network (tests/unit/gossip_test_util.h):
// joining, probing with indirect helpers and Lifeguard's health score, the
// buddy system, leave vs crash, metadata, queries, restore, reaping, join
// retries and a healed partition.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/gossip_test_util.h"

namespace shoal::gossip {
namespace {

using namespace test;
using std::chrono::milliseconds;
using std::chrono::seconds;
using K = Event::Kind;

size_t count_events(const MiniNet& net, size_t node, K kind, uint64_t about) {
  size_t n = 0;
  for (const Event& e : net.events(node)) n += e.kind == kind && e.member.id == nid(about);
  return n;
}

TEST(GossipCluster, NodesJoinThroughASeedAndConverge) {
  MiniNet net(6);
  net.join_all();
  for (size_t i = 1; i < 6; ++i) {
    size_t joined = 0;
    for (const Event& e : net.events(i)) joined += e.kind == K::kJoined;
    EXPECT_EQ(joined, 1u) << i;
  }
  net.run_for(seconds(5));
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(net.core(i).alive_count(), 6u) << i;
    for (size_t j = 0; j < 6; ++j)
      EXPECT_EQ(net.view(i, j), MemberStatus::kAlive) << i << " sees " << j;
  }
  EXPECT_EQ(net.core(3).stats().decode_errors, 0u);
}

TEST(GossipCluster, JoinRetriesWithBackoffUntilTheSeedAnswers) {
  MiniNet net(2);
  net.crash(0);
  net.core(1).join(net.now(), {addr(0)});
  net.run_for(seconds(10));
  // Attempts at about 0, 1, 2, 4 and 8 s (plus up to 25% jitter): a few,
  // not one per tick.
  const uint64_t failed = net.core(1).stats().streams_failed;
  EXPECT_GE(failed, 4u);
  EXPECT_LE(failed, 5u);
  EXPECT_EQ(net.core(1).alive_count(), 1u);
  // The seed comes back: the next retry joins.
  net.revive(0);
  net.run_for(seconds(20));
  size_t joined = 0;
  for (const Event& e : net.events(1)) joined += e.kind == K::kJoined;
  EXPECT_EQ(joined, 1u);
  EXPECT_EQ(net.core(1).alive_count(), 2u);
  EXPECT_EQ(net.core(0).alive_count(), 2u);
}

TEST(GossipCluster, AFailedProbeGoesIndirectAndRaisesTheHealthScore) {
  MiniNet net(4);
  net.join_all();
  net.run_for(seconds(3));
  // Node 0 cannot reach node 1 (nor node 1 it); the others can, and nack
  // nothing because their probes of node 1 succeed and are relayed... but
  // the relayed ack cannot reach node 0 either: node 0 hears neither acks
  // nor nacks from node 1's side. Cut node 0 from node 1 only.
  net.cut(0, 1);
  const Stats before = net.core(0).stats();
  net.run_for(seconds(8));
  const Stats after = net.core(0).stats();
  EXPECT_GT(after.indirect_probes_sent, before.indirect_probes_sent);
  EXPECT_GT(after.fallback_probes, before.fallback_probes);
  // Relayed acks arrive through the helpers: node 1 is never suspected.
  EXPECT_EQ(count_events(net, 0, K::kSuspect, 1), 0u);
  EXPECT_EQ(net.view(0, 1), MemberStatus::kAlive);
}

TEST(GossipCluster, AnIsolatedNodeSuspectsOthersButRaisesItsHealthScore) {
  MiniNet net(5);
  net.join_all();
  net.run_for(seconds(3));
  // Node 0 loses every packet both ways: its probes fail and no helper's
  // nack comes back, so Lifeguard blames node 0 itself.
  for (size_t i = 1; i < 5; ++i) net.cut(0, i);
  net.run_for(seconds(4));
  EXPECT_GT(net.core(0).health_score(), 0);
  // The others, who hear each other, stay healthy.
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(net.core(i).health_score(), 0) << i;
}

TEST(GossipCluster, TheSuspectHearsOfItsSuspicionAndRefutes) {
  MiniNet net(5);
  net.join_all();
  net.run_for(seconds(3));
  const uint64_t inc = net.core(2).self().incarnation;
  // Tell node 0 that node 2 is suspect; node 0 passes it on (and probes
  // node 2 with the suspicion riding first in the packet).
  ASSERT_TRUE(net.core(0).on_packet(net.now(), addr(3),
                                    packet({codec::encode(codec::Suspect{inc, nid(2), nid(3)})})));
  net.run_for(seconds(3));
  EXPECT_GT(net.core(2).self().incarnation, inc);
  EXPECT_EQ(net.core(2).stats().refutations, 1u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(net.view(i, 2), MemberStatus::kAlive) << i;
}

TEST(GossipCluster, LeaveAndCrashAreTellApart) {
  MiniNet net(6);
  net.join_all();
  net.run_for(seconds(3));
  net.core(4).leave(net.now());
  net.crash(5);
  net.run_for(seconds(40));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(net.view(i, 4), MemberStatus::kLeft) << i;
    EXPECT_EQ(net.view(i, 5), MemberStatus::kDead) << i;
    EXPECT_EQ(count_events(net, i, K::kLeft, 4), 1u) << i;
    EXPECT_EQ(count_events(net, i, K::kDead, 4), 0u) << i;
    EXPECT_EQ(count_events(net, i, K::kDead, 5), 1u) << i;
    EXPECT_EQ(count_events(net, i, K::kLeft, 5), 0u) << i;
    EXPECT_EQ(net.core(i).alive_count(), 4u);
  }
  // The leaver's goodbye drained, so the host can stop it.
  EXPECT_EQ(net.core(4).broadcasts_pending(), 0u);
}

TEST(GossipCluster, MetadataUpdatesReachEveryone) {
  MiniNet net(5);
  net.join_all();
  net.run_for(seconds(3));
  NodeMeta m = meta(3);
  m.attrs["zone"] = "moved";
  m.tags = {"gpu"};
  net.core(3).update_meta(net.now(), m);
  net.run_for(seconds(3));
  for (size_t i = 0; i < 5; ++i) {
    auto seen = net.core(i).find(nid(3));
    ASSERT_TRUE(seen) << i;
    EXPECT_EQ(seen->meta, m) << i;
    if (i != 3) {
      EXPECT_EQ(count_events(net, i, K::kUpdate, 3), 1u) << i;
    }
  }
}

TEST(GossipCluster, QueryIsAnsweredByEveryMemberAndGatheredUntilTheDeadline) {
  MiniNet net(5);
  net.join_all();
  net.run_for(seconds(3));
  net.clear_events();
  const uint64_t id = net.core(0).start_query(net.now(), "keyring", {1, 2}, seconds(2));
  // Every member (the origin included) answers the query once it hears it.
  std::set<size_t> answered;
  for (int step = 0; step < 20 && answered.size() < 5; ++step) {
    for (size_t i = 0; i < 5; ++i) {
      if (answered.count(i)) continue;
      for (const Event& e : net.events(i)) {
        if (e.kind != K::kQuery || e.query.id != id) continue;
        EXPECT_EQ(e.query.name, "keyring");
        EXPECT_EQ(e.query.payload, (std::vector<uint8_t>{1, 2}));
        EXPECT_EQ(e.query.origin, nid(0));
        net.core(i).respond(net.now(), e.query, {static_cast<uint8_t>(i)});
        answered.insert(i);
      }
    }
    net.run_for(milliseconds(100));
  }
  EXPECT_EQ(answered.size(), 5u);
  std::set<NodeId> responders;
  for (const Event& e : net.events(0)) {
    if (e.kind == K::kQueryResponse && e.query.id == id) {
      EXPECT_TRUE(responders.insert(e.query.responder).second) << "duplicate response";
      const auto who = e.query.responder.lo();
      EXPECT_EQ(e.query.response, (std::vector<uint8_t>{static_cast<uint8_t>(who)}));
    }
  }
  EXPECT_EQ(responders.size(), 5u);
  size_t done = 0;
  for (const Event& e : net.events(0)) done += e.kind == K::kQueryDone && e.query.id == id;
  EXPECT_EQ(done, 0u);
  net.run_for(seconds(3));
  done = 0;
  for (const Event& e : net.events(0)) done += e.kind == K::kQueryDone && e.query.id == id;
  EXPECT_EQ(done, 1u);
}

TEST(GossipCluster, ResponsesAfterTheDeadlineAreDropped) {
  MiniNet net(3);
  net.join_all();
  net.run_for(seconds(3));
  net.clear_events();
  const uint64_t id = net.core(0).start_query(net.now(), "slow", {}, milliseconds(500));
  net.run_for(milliseconds(100));
  std::vector<QueryInfo> asked;
  for (size_t i = 1; i < 3; ++i) {
    for (const Event& e : net.events(i)) {
      if (e.kind == K::kQuery && e.query.id == id) asked.push_back(e.query);
    }
  }
  ASSERT_EQ(asked.size(), 2u);
  net.core(1).respond(net.now(), asked[0], {1});
  net.run_for(seconds(1));  // past the deadline
  net.core(2).respond(net.now(), asked[1], {2});
  net.run_for(milliseconds(100));
  size_t responses = 0;
  for (const Event& e : net.events(0)) responses += e.kind == K::kQueryResponse;
  EXPECT_EQ(responses, 1u);
}

TEST(GossipCluster, ARestartedNodeFindsTheClusterFromItsPersistedList) {
  MiniNet net(4);
  net.join_all();
  net.run_for(seconds(3));
  const auto saved = Gossip::encode_members(net.core(3).members());
  const uint64_t old_inc = net.core(3).self().incarnation;
  net.crash(3);
  net.run_for(seconds(40));
  EXPECT_EQ(net.view(0, 3), MemberStatus::kDead);
  // Restart node 3: a new core with the same id and the saved list, and
  // no --join.
  auto members = Gossip::decode_members(saved);
  ASSERT_TRUE(members);
  Rng rng(5);
  Gossip revived(Config::lan(), nid(3), meta(3), rng, net.now());
  revived.restore(net.now(), *members);
  EXPECT_GT(revived.self().incarnation, old_inc);
  // Remembered members are not trusted as alive...
  EXPECT_EQ(revived.find(nid(0))->status, MemberStatus::kDead);
  EXPECT_EQ(revived.alive_count(), 1u);
  // ...but they are reconnect targets, tried at once.
  EXPECT_LE(revived.next_deadline(), net.now());
  revived.tick(net.now());
  Ready r = revived.take_ready();
  ASSERT_EQ(r.streams.size(), 1u);
  EXPECT_EQ(r.streams[0].kind, StreamRequest::Kind::kPushPull);
  auto to = net.index_of(r.streams[0].to);
  ASSERT_TRUE(to);
  auto reply = net.core(*to).on_stream(net.now(), addr(3), r.streams[0].payload);
  ASSERT_TRUE(reply);
  revived.on_stream_reply(net.now(), r.streams[0].id, std::move(reply));
  // Node 3's higher incarnation overrides its death at the partner...
  EXPECT_EQ(net.view(*to, 3), MemberStatus::kAlive);
  // ...and node 3 now knows the others alive.
  EXPECT_EQ(revived.alive_count(), 4u);
}

TEST(GossipCluster, DeadMembersAreReapedAfterTheReapTimeout) {
  Config c = Config::lan();
  c.reap_timeout = seconds(60);
  MiniNet net(4, c);
  net.join_all();
  net.run_for(seconds(3));
  net.crash(3);
  net.run_for(seconds(30));
  ASSERT_EQ(net.view(0, 3), MemberStatus::kDead);
  net.run_for(seconds(70));
  EXPECT_FALSE(net.view(0, 3).has_value());
  EXPECT_EQ(count_events(net, 0, K::kReaped, 3), 1u);
}

TEST(GossipCluster, ALongPartitionHealsThroughReconnects) {
  MiniNet net(6);
  net.join_all();
  net.run_for(seconds(3));
  for (size_t a = 0; a < 3; ++a) {
    for (size_t b = 3; b < 6; ++b) net.cut(a, b);
  }
  net.run_for(seconds(120));
  EXPECT_EQ(net.view(0, 4), MemberStatus::kDead);
  EXPECT_EQ(net.view(4, 0), MemberStatus::kDead);
  for (size_t a = 0; a < 3; ++a) {
    for (size_t b = 3; b < 6; ++b) net.cut(a, b, false);
  }
  // Gossip no longer goes across (the dead are past gossip_to_the_dead);
  // reconnect attempts (every 30 s) find the other side.
  net.run_for(seconds(120));
  for (size_t i = 0; i < 6; ++i) {
    for (size_t j = 0; j < 6; ++j)
      EXPECT_EQ(net.view(i, j), MemberStatus::kAlive) << i << " sees " << j;
  }
}

}  // namespace
}  // namespace shoal::gossip
