// Test faults (test_faults.h). SHOAL_TEST_FAULTS_BUILT reaches this file
// alone (node/CMakeLists.txt), so turning the option on or off rebuilds
// nothing else.
#include "node/host/test_faults.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "raft/fault_fs.h"
#include "scheduler/cluster_state.h"
#include "scheduler/kv_state.h"

namespace shoal::node {

std::string TestFaults::describe() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(ack_before_commit, "ack-before-commit");
  add(skip_fsync, "skip-fsync");
  add(power_cut, "power-cut");
  add(old_state_schema, "old-state-schema");
  return out;
}

bool test_faults_built() {
#ifdef SHOAL_TEST_FAULTS_BUILT
  return true;
#else
  return false;
#endif
}

Result<TestFaults> parse_test_faults(const std::string& text) {
  TestFaults f;
  std::stringstream in(text);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    if (!test_faults_built()) {
      return Status::invalid_argument(
          "SHOAL_TEST_FAULTS is set, but this build has no test faults (configure with "
          "-DSHOAL_TEST_FAULTS=ON)");
    }
    if (name == "ack-before-commit") {
      f.ack_before_commit = true;
    } else if (name == "skip-fsync") {
      f.skip_fsync = true;
    } else if (name == "power-cut") {
      f.power_cut = true;
    } else if (name == "old-state-schema") {
      f.old_state_schema = true;
    } else {
      return Status::invalid_argument("SHOAL_TEST_FAULTS: unknown fault \"" + name +
                                      "\" (known: ack-before-commit, skip-fsync, power-cut, "
                                      "old-state-schema)");
    }
  }
  return f;
}

scheduler::KvOutcome guess_kv_outcome(const scheduler::KvCommand& cmd,
                                      const scheduler::ClusterState& state) {
  using Op = scheduler::KvCommand::Op;
  if (cmd.op == Op::kDeleteTree) return scheduler::KvOutcome::kApplied;
  const auto entry = state.kv().get(cmd.key);
  if (cmd.op == Op::kPut) {
    const bool holds =
        !cmd.cas || (*cmd.cas == 0 ? !entry : entry && entry->modify_index == *cmd.cas);
    return holds ? scheduler::KvOutcome::kApplied : scheduler::KvOutcome::kCasFailed;
  }
  if (cmd.cas && (!entry || entry->modify_index != *cmd.cas)) {
    return scheduler::KvOutcome::kCasFailed;
  }
  return entry ? scheduler::KvOutcome::kApplied : scheduler::KvOutcome::kNotFound;
}

void power_cut_and_exit(raft::FaultFs& fs) {
  const uint64_t dropped = fs.crash();
  std::fprintf(stderr, "shoal: test fault: power cut, %llu unsynced bytes dropped\n",
               static_cast<unsigned long long>(dropped));
  std::fflush(stderr);
  ::_exit(kPowerCutExitCode);
}

}  // namespace shoal::node
