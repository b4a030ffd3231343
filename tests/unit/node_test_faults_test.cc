// The chaos suite's test faults (node/host/test_faults.h): they parse only in a
// build that has them, and ack-before-commit guesses a KV write's outcome
// the way the state machine would decide it.
#include <gtest/gtest.h>

#include "node/host/test_faults.h"
#include "scheduler/cluster_state.h"
#include "scheduler/kv_state.h"

namespace shoal::node {
namespace {

TEST(TestFaults, NoneIsAlwaysFine) {
  auto f = parse_test_faults("");
  ASSERT_TRUE(f.is_ok());
  EXPECT_FALSE(f->any());
}

TEST(TestFaults, ParseInATestBuildAndAreRefusedElsewhere) {
  auto f = parse_test_faults("skip-fsync,power-cut");
  if (!test_faults_built()) {
    ASSERT_FALSE(f.is_ok());
    EXPECT_NE(f.status().message().find("-DSHOAL_TEST_FAULTS=ON"), std::string::npos);
    return;
  }
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_TRUE(f->skip_fsync);
  EXPECT_TRUE(f->power_cut);
  EXPECT_FALSE(f->ack_before_commit);
  EXPECT_FALSE(f->old_state_schema);
  EXPECT_EQ(f->describe(), "skip-fsync,power-cut");
  auto old = parse_test_faults("old-state-schema");
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_TRUE(old->old_state_schema);
  EXPECT_TRUE(old->any());
  EXPECT_FALSE(old->skip_fsync || old->power_cut || old->ack_before_commit);
  EXPECT_EQ(old->describe(), "old-state-schema");
  auto bad = parse_test_faults("skip-fsync,lose-everything");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("lose-everything"), std::string::npos);
}

TEST(TestFaults, GuessesKvOutcomesAsTheStateMachineDecides) {
  using scheduler::KvCommand;
  using scheduler::KvOutcome;
  scheduler::ClusterState state;
  KvCommand put{KvCommand::Op::kPut, "k", {'v'}, std::nullopt};
  // Applied for real at index 5, so the key exists with modify index 5.
  ASSERT_EQ(state.apply(5, scheduler::encode(put)).kv, KvOutcome::kApplied);

  struct Case {
    KvCommand cmd;
    KvOutcome want;
  };
  const Case cases[] = {
      {{KvCommand::Op::kPut, "k", {'w'}, std::nullopt}, KvOutcome::kApplied},
      {{KvCommand::Op::kPut, "k", {'w'}, 5}, KvOutcome::kApplied},
      {{KvCommand::Op::kPut, "k", {'w'}, 4}, KvOutcome::kCasFailed},
      {{KvCommand::Op::kPut, "k", {'w'}, 0}, KvOutcome::kCasFailed},
      {{KvCommand::Op::kPut, "new", {'w'}, 0}, KvOutcome::kApplied},
      {{KvCommand::Op::kPut, "new", {'w'}, 5}, KvOutcome::kCasFailed},
      {{KvCommand::Op::kDelete, "k", {}, std::nullopt}, KvOutcome::kApplied},
      {{KvCommand::Op::kDelete, "k", {}, 4}, KvOutcome::kCasFailed},
      {{KvCommand::Op::kDelete, "new", {}, std::nullopt}, KvOutcome::kNotFound},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(guess_kv_outcome(c.cmd, state), c.want) << c.cmd.key;
    // The real thing, on a copy, agrees.
    scheduler::ClusterState copy = state;
    EXPECT_EQ(copy.apply(6, scheduler::encode(c.cmd)).kv, c.want) << c.cmd.key;
  }
}

}  // namespace
}  // namespace shoal::node
