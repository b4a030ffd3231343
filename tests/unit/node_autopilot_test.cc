// Autopilot's decisions (node/cluster/autopilot.h): add a learner when voters are
// missing (zone first), promote it once stable, only then remove the dead
// voter; one change at a time; never the leader.
#include <gtest/gtest.h>

#include "node/cluster/autopilot.h"

namespace shoal::node {
namespace {

using raft::ConfChange;
using std::chrono::seconds;

NodeId id(uint64_t n) { return NodeId(0, n); }

AutopilotMember member(uint64_t n, std::string zone = "", bool alive = true) {
  AutopilotMember m;
  m.id = id(n);
  m.alive = alive;
  m.zone = std::move(zone);
  m.caught_up_for = seconds(60);
  return m;
}

raft::ConfState conf(std::vector<uint64_t> voters, std::vector<uint64_t> learners = {}) {
  raft::ConfState cs;
  for (uint64_t v : voters) cs.voters.push_back(id(v));
  for (uint64_t l : learners) cs.learners.push_back(id(l));
  return cs;
}

TEST(Autopilot, NothingWhileAChangeIsPendingOrAllIsWell) {
  AutopilotConfig cfg;
  std::vector<AutopilotMember> ms = {member(1), member(2), member(3), member(4)};
  EXPECT_FALSE(autopilot_next(cfg, id(1), conf({1, 2, 3}), false, ms).change);
  EXPECT_FALSE(autopilot_next(cfg, id(1), conf({1}), /*change_pending=*/true, ms).change);
}

TEST(Autopilot, GrowsToTheTargetThroughLearnersPreferringNewZones) {
  AutopilotConfig cfg;
  std::vector<AutopilotMember> ms = {member(1, "a"), member(2, "a"), member(5, "b"),
                                     member(9, "c")};
  auto d = autopilot_next(cfg, id(1), conf({1}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kAddLearner);
  EXPECT_EQ(d.change->node, id(5)) << "zone b before node 2 of zone a: " << d.reason;
  // While that learner catches up, nothing else.
  ms[2].caught_up_for = seconds(3);
  EXPECT_FALSE(autopilot_next(cfg, id(1), conf({1}, {5}), false, ms).change);
  // Stable for 10 s: promoted.
  ms[2].caught_up_for = seconds(10);
  d = autopilot_next(cfg, id(1), conf({1}, {5}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kPromoteLearner);
  EXPECT_EQ(d.change->node, id(5));
  // Then zone c.
  d = autopilot_next(cfg, id(1), conf({1, 5}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->node, id(9));
}

TEST(Autopilot, ReplacesADeadVoterOnlyAfterItsReplacementIsPromoted) {
  AutopilotConfig cfg;
  std::vector<AutopilotMember> ms = {member(1), member(2), member(3, "", /*alive=*/false),
                                     member(4)};
  ms[2].since_heard = seconds(30);
  // Dead in gossip but within the grace: nothing yet.
  EXPECT_FALSE(autopilot_next(cfg, id(1), conf({1, 2, 3}), false, ms).change);
  ms[2].since_heard = seconds(150);
  auto d = autopilot_next(cfg, id(1), conf({1, 2, 3}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kAddLearner) << "first the replacement";
  EXPECT_EQ(d.change->node, id(4));
  d = autopilot_next(cfg, id(1), conf({1, 2, 3}, {4}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kPromoteLearner);
  d = autopilot_next(cfg, id(1), conf({1, 2, 3, 4}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kRemove);
  EXPECT_EQ(d.change->node, id(3));
  // A dead voter with no replacement in sight stays (removing it would leave
  // an even, weaker configuration).
  std::vector<AutopilotMember> none = {member(1), member(2), ms[2]};
  d = autopilot_next(cfg, id(1), conf({1, 2, 3}), false, none);
  EXPECT_FALSE(d.change) << d.reason;
}

TEST(Autopilot, SkipsVoterNeverAgentsAndNeverRemovesTheLeader) {
  AutopilotConfig cfg;
  cfg.voters = 1;
  std::vector<AutopilotMember> ms = {member(1), member(2), member(3)};
  // Target lowered to 1: trims, but never the leader (node 1).
  auto d = autopilot_next(cfg, id(1), conf({1, 2, 3}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kRemove);
  EXPECT_NE(d.change->node, id(1));
  cfg.voters = 3;
  std::vector<AutopilotMember> never = {member(1), member(2)};
  never[1].may_vote = false;
  d = autopilot_next(cfg, id(1), conf({1}), false, never);
  EXPECT_FALSE(d.change) << "node 2 runs with --voter never";
}

TEST(Autopilot, ADeadLearnerIsRemovedAfterTheGrace) {
  AutopilotConfig cfg;
  std::vector<AutopilotMember> ms = {member(1), member(2), member(3), member(7, "", false)};
  ms[3].since_heard = seconds(200);
  auto d = autopilot_next(cfg, id(1), conf({1, 2, 3}, {7}), false, ms);
  ASSERT_TRUE(d.change);
  EXPECT_EQ(d.change->kind, ConfChange::Kind::kRemove);
  EXPECT_EQ(d.change->node, id(7));
}

}  // namespace
}  // namespace shoal::node
