// AutopilotLoop (node/cluster/autopilot_loop.h): how often the leader looks, one
// change at a time, how long a learner has been caught up, and which
// members it counts.
#include <gtest/gtest.h>

#include <vector>

#include "node/cluster/autopilot_loop.h"

namespace shoal::node {
namespace {

using namespace std::chrono_literals;
using raft::ConfChange;

NodeId id(uint64_t n) { return NodeId(0, n); }
TimePoint at(Duration d) { return time_at(d); }

AutopilotPeer peer(uint64_t n, std::string cluster = "c1") {
  return AutopilotPeer{id(n), true, true, "", std::move(cluster)};
}

// The leader (node 1) with voters {1, 2} and learner 3 at `learner_match`.
RaftStatus status(uint64_t last, uint64_t learner_match) {
  RaftStatus st;
  st.id = id(1);
  st.leader = id(1);
  st.role = raft::Role::kLeader;
  st.last_index = last;
  st.conf.voters = {id(1), id(2)};
  st.conf.learners = {id(3)};
  st.peers = {RaftPeerStatus{id(2), false, last, last + 1, 0ns},
              RaftPeerStatus{id(3), true, learner_match, learner_match + 1, 0ns}};
  return st;
}

TEST(AutopilotLoop, PromotesALearnerOnlyAfterItStayedCaughtUpAndOneChangeAtATime) {
  AutopilotLoop loop;
  AutopilotConfig cfg;  // 3 voters, stable for 10 s
  const std::vector<AutopilotPeer> peers = {peer(1), peer(2), peer(3)};
  EXPECT_FALSE(loop.step(at(0s), cfg, id(1), "c1", status(1000, 1000), peers));
  // Caught up for 5 s, then it falls behind: the clock starts again.
  EXPECT_FALSE(loop.step(at(5s), cfg, id(1), "c1", status(1000, 1000), peers));
  EXPECT_FALSE(loop.step(at(6s), cfg, id(1), "c1", status(1000, 100), peers));
  EXPECT_FALSE(loop.step(at(7s), cfg, id(1), "c1", status(1000, 1000), peers));
  EXPECT_FALSE(loop.step(at(16s), cfg, id(1), "c1", status(1000, 1000), peers))
      << "caught up for 9 s only";
  // Within the slack counts as caught up.
  auto d = loop.step(at(17s), cfg, id(1), "c1", status(1000, 1000 - kCaughtUpSlack), peers);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->change->kind, ConfChange::Kind::kPromoteLearner);
  EXPECT_EQ(d->change->node, id(3));
  // Until the change is answered, nothing more.
  EXPECT_TRUE(loop.inflight());
  EXPECT_FALSE(loop.step(at(30s), cfg, id(1), "c1", status(1000, 1000), peers));
  loop.done();
  EXPECT_TRUE(loop.step(at(30s), cfg, id(1), "c1", status(1000, 1000), peers));
}

TEST(AutopilotLoop, LooksAtMostOncePerInterval) {
  AutopilotLoop loop;
  AutopilotConfig cfg;
  // At 0 s the learner has been caught up for no time at all; any later
  // look would promote it.
  cfg.stable_for = 1ns;
  const std::vector<AutopilotPeer> peers = {peer(1), peer(2), peer(3)};
  EXPECT_FALSE(loop.step(at(0s), cfg, id(1), "c1", status(10, 10), peers));
  EXPECT_FALSE(loop.step(at(kAutopilotEvery / 2), cfg, id(1), "c1", status(10, 10), peers))
      << "too soon after the last look";
  EXPECT_TRUE(loop.step(at(kAutopilotEvery), cfg, id(1), "c1", status(10, 10), peers));
}

TEST(AutopilotLoop, CountsOnlyThisClustersMembersAndTheOnesGossipForgot) {
  AutopilotLoop loop;
  AutopilotConfig cfg;
  cfg.voters = 3;
  RaftStatus st;
  st.id = id(1);
  st.role = raft::Role::kLeader;
  st.last_index = 10;
  st.conf.voters = {id(1)};
  // Node 5 belongs to another cluster: never a learner here. Node 6 knows
  // no cluster yet (a fresh agent): it may join.
  std::vector<AutopilotPeer> peers = {peer(1), peer(5, "other"), peer(6, "")};
  auto d = loop.step(at(0s), cfg, id(1), "c1", st, peers);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->change->kind, ConfChange::Kind::kAddLearner);
  EXPECT_EQ(d->change->node, id(6));
  loop.done();
  // A voter gossip has forgotten, silent beyond the grace, with voters
  // above the target: removed.
  st.conf.voters = {id(1), id(2), id(6), id(7)};
  st.peers = {RaftPeerStatus{id(2), false, 10, 11, 0ns}, RaftPeerStatus{id(6), false, 10, 11, 0ns},
              RaftPeerStatus{id(7), false, 3, 4, cfg.dead_voter_grace + 1s}};
  peers = {peer(1), peer(2), peer(6)};
  d = loop.step(at(5s), cfg, id(1), "c1", st, peers);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->change->kind, ConfChange::Kind::kRemove);
  EXPECT_EQ(d->change->node, id(7));
}

}  // namespace
}  // namespace shoal::node
