// What a chaos run is judged by, computed from the history and the faults
// alone (so a run dir can be checked again later, and hand-made histories
// can prove the checks fail when they should):
//
//   1. linearizable: the history, as shoal::sim::KvOps, passes
//      check_linearizable (per key, with a state budget; giving up counts as
//      a failure). Definite failures are left out; unknown writes may take
//      effect at any time after their call, or never; unknown gets are left
//      out.
//   2. lost writes: an acknowledged write W of key k is lost when the final
//      read of k finds it absent, or finds a value written by an op that
//      returned before W was called (or by no op at all).
//   3. availability: around each fault (start to heal + 3 s), the longest
//      time without a successful write (a put or cas with a definite answer)
//      through any agent; per kind, the longest such window and the share of
//      ops invoked in the faults' intervals that failed or were unknown.
//      kill, pause and partition faults that hit the leader (or split 2|3)
//      must stay within --max-unavailable-s.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/fault_log.h"
#include "tests/chaos/history.h"
#include "tests/sim/linearizability.h"

namespace shoal::chaos {

inline constexpr int64_t kHealTailNs = 3'000'000'000;
inline constexpr uint64_t kCheckerStatesPerKey = 10'000'000;

struct KindReport {
  std::string kind;
  int faults = 0;
  double unavailable_max_s = 0;
  double failed_share = 0;
};

struct CheckReport {
  size_t ops = 0;
  size_t acknowledged = 0;
  sim::CheckResult linearizability;
  uint64_t states_per_key = 0;  // the checker's budget
  size_t lost = 0;
  std::vector<std::string> lost_examples;  // at most 10
  std::vector<std::string> unread_keys;    // keys without a final read
  std::vector<KindReport> kinds;           // in kFaultKinds order
  int faults = 0;
  double unavailable_max_s = 0;  // over kill, pause and partition
  double failed_share = 0;       // over every fault's interval
  std::vector<std::string> availability_breaches;

  // A lost write or a proven linearizability violation (what negative
  // controls must find).
  bool safety_violation() const;
  // Anything that fails a run: the above, a checker that gave up, a key
  // never read at the end, an availability breach.
  bool failed() const;
};

// The history as the linearizability checker's ops.
std::vector<sim::KvOp> to_kv_ops(const std::vector<OpRecord>& history);

// All three checks. `kinds`: the kinds to report even without faults.
CheckReport check_run(const std::vector<OpRecord>& history, const std::vector<FaultRecord>& faults,
                      const std::vector<std::string>& kinds, double max_unavailable_s,
                      uint64_t states_per_key = kCheckerStatesPerKey);

// "chaos kind=kill faults=3 unavailable_max_s=1.20 failed_share=0.031"
std::string kind_line(const KindReport& k);
// "chaos faults=N ops=N acknowledged=N lost=N linearizable=yes|no
//  unavailable_max_s=X.XX failed_share=Y.YYY"
std::string summary_line(const CheckReport& r);
// The per-kind lines, the summary line and what went wrong, for people.
std::string report_text(const CheckReport& r);

}  // namespace shoal::chaos
