// The node registry writer's decision (node/cluster/registry_writer.h): which
// NodeUpserts the leader proposes for what gossip shows against what the
// registry holds.
#include <gtest/gtest.h>

#include "node/cluster/registry_writer.h"

namespace shoal::node {
namespace {

constexpr uint64_t kNow = 1'700'000'000'000;
const std::string kCluster = "c1";

gossip::Member member(uint64_t n, gossip::MemberStatus status = gossip::MemberStatus::kAlive) {
  gossip::Member m;
  m.id = NodeId(0, n);
  m.status = status;
  m.meta.name = "node-" + std::to_string(n);
  m.meta.gossip = {"10.0.0." + std::to_string(n), 7782};
  m.meta.rpc_port = 7783;
  m.meta.http_port = 7780;
  m.meta.dns_port = 7781;
  m.meta.resources = {2000, 4096};
  m.meta.attrs = {{"zone", "a"}};
  m.meta.role = "voter";
  m.meta.cluster_id = kCluster;
  return m;
}

// A registry holding what the writer proposed, as the state machine applies it.
void apply_all(scheduler::NodeRegistry& reg, const std::vector<scheduler::NodeUpsert>& ups) {
  for (const auto& u : ups) reg.apply(reg.index() + 1, u);
}

std::vector<scheduler::NodeUpsert> upserts(const std::vector<gossip::Member>& members,
                                           const scheduler::NodeRegistry& reg, uint64_t now = kNow,
                                           size_t max = 16) {
  return registry_upserts(members, reg, kCluster, now, max);
}

TEST(RegistryWriter, ObservedNodeCopiesWhatGossipAdvertises) {
  const scheduler::NodeRecord r = observed_node(member(3, gossip::MemberStatus::kSuspect));
  EXPECT_EQ(r.id, NodeId(0, 3));
  EXPECT_EQ(r.name, "node-3");
  EXPECT_EQ(r.address, "10.0.0.3");
  EXPECT_EQ(r.rpc_port, 7783);
  EXPECT_EQ(r.http_port, 7780);
  EXPECT_EQ(r.dns_port, 7781);
  EXPECT_EQ(r.cpu_mhz, 2000u);
  EXPECT_EQ(r.memory_mb, 4096u);
  EXPECT_EQ(r.attrs.at("zone"), "a");
  EXPECT_EQ(r.role, "voter");
  EXPECT_TRUE(r.alive) << "a suspect member still counts as alive";
  EXPECT_FALSE(observed_node(member(3, gossip::MemberStatus::kDead)).alive);
}

TEST(RegistryWriter, ANewMemberIsWrittenStampedWithNow) {
  scheduler::NodeRegistry reg;
  auto ups = upserts({member(1)}, reg);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].node.id, NodeId(0, 1));
  EXPECT_EQ(ups[0].node.since_unix_ms, kNow);
  EXPECT_TRUE(ups[0].node.eligible);
  EXPECT_FALSE(ups[0].node.drain);
  EXPECT_TRUE(ups[0].node.alive);
}

TEST(RegistryWriter, AnUnchangedMemberIsNotWrittenAgain) {
  scheduler::NodeRegistry reg;
  apply_all(reg, upserts({member(1), member(2)}, reg));
  EXPECT_TRUE(upserts({member(1), member(2)}, reg, kNow + 5000).empty());
}

TEST(RegistryWriter, AChangedFieldKeepsTheOldSinceWhileAliveIsUnchanged) {
  scheduler::NodeRegistry reg;
  apply_all(reg, upserts({member(1)}, reg));
  gossip::Member m = member(1);
  m.meta.attrs["rack"] = "r7";
  auto ups = upserts({m}, reg, kNow + 5000);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].node.attrs.at("rack"), "r7");
  EXPECT_EQ(ups[0].node.since_unix_ms, kNow) << "liveness did not change";
}

TEST(RegistryWriter, AnAliveFlipStampsNow) {
  scheduler::NodeRegistry reg;
  apply_all(reg, upserts({member(1)}, reg));
  auto down = upserts({member(1, gossip::MemberStatus::kDead)}, reg, kNow + 5000);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_FALSE(down[0].node.alive);
  EXPECT_EQ(down[0].node.since_unix_ms, kNow + 5000);
  apply_all(reg, down);
  EXPECT_TRUE(upserts({member(1, gossip::MemberStatus::kDead)}, reg, kNow + 9000).empty())
      << "still down: nothing new";
  // Back, even only as suspect (which counts as alive): another flip.
  auto up = upserts({member(1, gossip::MemberStatus::kSuspect)}, reg, kNow + 9000);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_TRUE(up[0].node.alive);
  EXPECT_EQ(up[0].node.since_unix_ms, kNow + 9000);
}

TEST(RegistryWriter, EligibilityAndDrainComeFromTheRegistry) {
  scheduler::NodeRegistry reg;
  auto first = upserts({member(1)}, reg);
  ASSERT_EQ(first.size(), 1u);
  first[0].node.eligible = false;  // an operator's decision, written elsewhere
  first[0].node.drain = true;
  apply_all(reg, first);
  EXPECT_TRUE(upserts({member(1)}, reg).empty()) << "gossip knows nothing of them: no change";
  gossip::Member m = member(1);
  m.meta.role = "learner";
  auto ups = upserts({m}, reg);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_FALSE(ups[0].node.eligible);
  EXPECT_TRUE(ups[0].node.drain);
}

TEST(RegistryWriter, SkipsLeftMembersAndOtherClusters) {
  scheduler::NodeRegistry reg;
  gossip::Member other = member(2);
  other.meta.cluster_id = "c2";
  gossip::Member fresh = member(3);
  fresh.meta.cluster_id.clear();  // not in a cluster yet: written
  auto ups = upserts({member(1, gossip::MemberStatus::kLeft), other, fresh}, reg);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].node.id, NodeId(0, 3));
}

TEST(RegistryWriter, WritesAtMostMaxInMemberOrder) {
  scheduler::NodeRegistry reg;
  std::vector<gossip::Member> members;
  for (uint64_t n = 1; n <= 5; ++n) members.push_back(member(n));
  auto ups = upserts(members, reg, kNow, 2);
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].node.id, NodeId(0, 1));
  EXPECT_EQ(ups[1].node.id, NodeId(0, 2));
  apply_all(reg, ups);
  ups = upserts(members, reg, kNow, 2);
  ASSERT_EQ(ups.size(), 2u) << "the rest on the next call";
  EXPECT_EQ(ups[0].node.id, NodeId(0, 3));
  EXPECT_TRUE(upserts(members, reg, kNow, 0).empty());
}

}  // namespace
}  // namespace shoal::node
