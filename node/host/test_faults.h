// Faults that a test build injects into a real agent: the negative controls
// of the chaos suite (tests/chaos), each of which must make the suite fail,
// which proves that the suite can see what it claims to check, and stand-ins
// for what a test cannot start for real (old-state-schema: an older build).
//
// They are compiled in only when the build is configured with
// -DSHOAL_TEST_FAULTS=ON, and chosen at start from $SHOAL_TEST_FAULTS, a
// comma list:
//   ack-before-commit  the leader answers a KV write as soon as it proposes
//                      it, with the outcome the write would have on the
//                      current state, instead of once a quorum committed it;
//   skip-fsync         the Raft log is written but never synced;
//   power-cut          the Raft log runs on the fault-injecting file system
//                      (raft/fault_fs.h); on SIGUSR2 the agent drops every
//                      byte it has not synced, as a power cut would, and exits
//                      with kPowerCutExitCode. A plain kill -9 keeps the page
//                      cache, so skip-fsync alone could never lose anything;
//   old-state-schema   the agent advertises state schema kStateSchema - 1
//                      (node/cluster/upgrade_gate.h), as a build older than
//                      any entry this cluster writes would, so that the
//                      leader's upgrade gate refuses every state write.
// A build without them refuses to start when the variable is set, so that a
// control can never pass by testing nothing. Only this header's functions
// know whether the build has them (the define reaches test_faults.cc alone).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace shoal::raft {
class FaultFs;
}  // namespace shoal::raft
namespace shoal::scheduler {
struct KvCommand;
class ClusterState;
enum class KvOutcome : uint8_t;
}  // namespace shoal::scheduler

namespace shoal::node {

struct TestFaults {
  bool ack_before_commit = false;
  bool skip_fsync = false;
  bool power_cut = false;
  bool old_state_schema = false;

  bool any() const { return ack_before_commit || skip_fsync || power_cut || old_state_schema; }
  // "ack-before-commit,power-cut" (the names above), for the start-up warning.
  std::string describe() const;
};

inline constexpr int kPowerCutExitCode = 86;

// Whether this build was configured with -DSHOAL_TEST_FAULTS=ON.
bool test_faults_built();

// Parses a $SHOAL_TEST_FAULTS value (empty: none). kInvalidArgument for an
// unknown name, or for any name when the build has no test faults.
[[nodiscard]] Result<TestFaults> parse_test_faults(const std::string& text);

// ack-before-commit: the answer `cmd` would get if it were applied to
// `state` now (a put applies, a CAS compares the modify index, a delete of a
// missing key is not found).
scheduler::KvOutcome guess_kv_outcome(const scheduler::KvCommand& cmd,
                                      const scheduler::ClusterState& state);

// power-cut: what `fs` has not synced is dropped and the process exits with
// kPowerCutExitCode; I/O that RocksDB's threads start meanwhile never ends.
[[noreturn]] void power_cut_and_exit(raft::FaultFs& fs);

}  // namespace shoal::node
