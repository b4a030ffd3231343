// The upgrade gate (node/cluster/upgrade_gate.h): the advertised schema tag, and
// which voter holds back an entry that needs a newer schema (or any entry,
// when it advertises schema 0).
#include <gtest/gtest.h>

#include "core/msg_types.h"
#include "core/wire.h"
#include "node/cluster/upgrade_gate.h"
#include "scheduler/cluster_state.h"
#include "scheduler/kv_state.h"
#include "scheduler/node_registry.h"

namespace shoal::node {
namespace {

TEST(UpgradeGate, ReadsTheAdvertisedSchema) {
  struct Case {
    std::vector<std::string> tags;
    std::optional<uint32_t> want;
  };
  const Case cases[] = {
      {{}, 1},               // before the tag existed
      {{"voter=never"}, 1},  // other tags only
      {{"voter=never", "state=3"}, 3},
      {{state_schema_tag(scheduler::kStateSchema)}, scheduler::kStateSchema},
      {{"state="}, std::nullopt},                      // malformed ones count as unknown
      {{"state=0"}, std::make_optional<uint32_t>(0)},  // the test fault old-state-schema
      {{"state=2x"}, std::nullopt},
      {{"state=-1"}, std::nullopt},
      {{"state=99999999999"}, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(advertised_state_schema(c.tags), c.want) << ::testing::PrintToString(c.tags);
  }
}

TEST(UpgradeGate, NamesTheFirstVoterThatDoesNotUnderstand) {
  const NodeId a(0, 1), b(0, 2), c(0, 3);
  std::vector<VoterSchema> voters = {{a, "a", 2}, {b, "b", 1}, {c, "c", 2}};
  EXPECT_EQ(voters_lacking_schema(voters, 1), std::nullopt);
  auto why = voters_lacking_schema(voters, 2);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("voter b understands state schema 1"), std::string::npos) << *why;
  EXPECT_NE(why->find("needs schema 2"), std::string::npos) << *why;
  voters[1].schema = 2;
  EXPECT_EQ(voters_lacking_schema(voters, 2), std::nullopt);
  voters[2].schema.reset();  // gossip does not know c
  why = voters_lacking_schema(voters, 2);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("voter c is not known to gossip"), std::string::npos) << *why;
  // Schema 1 needs nobody's word.
  EXPECT_EQ(voters_lacking_schema(voters, 1), std::nullopt);
}

TEST(UpgradeGate, AVoterOfSchemaZeroHoldsBackEvenSchemaOne) {
  const NodeId a(0, 1), b(0, 2), c(0, 3);
  std::vector<VoterSchema> voters = {{a, "a", 1}, {b, "b", std::nullopt}, {c, "c", 0}};
  auto why = voters_lacking_schema(voters, 1);
  ASSERT_TRUE(why.has_value());
  // b, unknown to gossip, counts as a build of schema 1; c does not.
  EXPECT_NE(why->find("voter c understands state schema 0"), std::string::npos) << *why;
  EXPECT_NE(why->find("needs schema 1"), std::string::npos) << *why;
  voters[2].schema = 1;
  EXPECT_EQ(voters_lacking_schema(voters, 1), std::nullopt);
}

TEST(UpgradeGate, EveryEntryThisBuildWritesNeedsAtMostItsSchema) {
  scheduler::KvCommand put;
  put.op = scheduler::KvCommand::Op::kPut;
  put.key = "k";
  put.value = {1, 2};
  EXPECT_LE(scheduler::schema_needed(scheduler::encode(put)), scheduler::kStateSchema);
  EXPECT_LE(
      scheduler::schema_needed(scheduler::encode_restore(scheduler::ClusterState().snapshot())),
      scheduler::kStateSchema);
  scheduler::NodeUpsert u;
  u.node.id = NodeId(0, 7);
  u.node.name = "n7";
  EXPECT_LE(scheduler::schema_needed(scheduler::encode(u)), scheduler::kStateSchema);
  // A state-machine type from a newer build needs more than this build has.
  const std::vector<uint8_t> newer =
      wire::encode_envelope(static_cast<MsgType>(3999), 1, [](wire::Packer& p) { p.pack_nil(); });
  EXPECT_GT(scheduler::schema_needed(newer), scheduler::kStateSchema);
}

}  // namespace
}  // namespace shoal::node
