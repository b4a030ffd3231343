// A linearizability checker for key-value histories recorded by simulation
// tests (a KV workload driven through the Raft log).
//
// The model is one register per key: a key holds an optional string value
// (nullopt = absent). Clients Put, Get, Delete and compare-and-set (CAS)
// keys; the test records, for every operation, when it was invoked and, if it
// completed, when it returned and what it returned. check_linearizable() then
// decides whether some total order of the operations (a) respects real time
// (an op that returned before another was invoked comes first), and (b) is a
// legal sequential execution of the register model.
//
// Outcomes a test may record:
//   - completed: the op returned ok and its result is known;
//   - indeterminate: the client gave up (timeout, lost connection, leader
//     change) and cannot tell whether the op happened. A write may then take
//     effect at any time after its invoke, or never; an indeterminate Get
//     constrains nothing and is ignored;
//   - failed definitely (the system guarantees it did not happen): the op is
//     simply left out of the history (KvHistory::fail does that).
//
// How it works: linearizability is compositional, so the history is split by
// key and each key is checked on its own. Per key it runs the Wing-Gong
// depth-first search over "which op takes effect next" with Lowe's
// memoisation (a cache of (set of ops already linearized, register value)
// pairs already explored). Only ops invoked before the earliest return among
// the completed ops still pending may come next. Indeterminate writes never
// return, so they stay candidates forever and need not be linearized at all;
// the search succeeds once every completed op is linearized. An indeterminate
// write is only tried right before an op whose result needs it (e.g. a Get of
// the value it wrote), which prunes the search without losing any
// linearization. Before searching, a pass over each key catches reads of
// values never written (or read before their writer was invoked).
//
// Cost: mostly-sequential histories take time roughly linear in the number of
// ops per key; highly concurrent histories (many overlapping ops on one key)
// can blow up exponentially, which the state budget bounds. Each state
// explored costs about 32 bytes (sets are kept as 128-bit fingerprints, see
// linearizability.cc), so the default budget bounds memory to ~2 GB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shoal::sim {

// One client operation on one key.
struct KvOp {
  enum class Kind : uint8_t {
    kPut,     // key := value (a Put without a value behaves like a Delete)
    kGet,     // reads the key; the result is `observed`
    kDelete,  // key := absent
    kCas,     // if key == expected then key := value; the result is `cas_ok`
  };

  Kind kind = Kind::kGet;
  uint32_t client = 0;  // only used in explanations
  std::string key;
  // The value a Put writes, or the new value of a CAS (nullopt: a CAS that
  // deletes the key).
  std::optional<std::string> value;
  // CAS only: the value the key must hold for the CAS to succeed (nullopt:
  // the key must be absent).
  std::optional<std::string> expected;
  // Invoke and return times in any one monotonic unit (e.g. simulated ns).
  // Two ops overlap unless one's return is strictly before the other's
  // invoke. `ret` = nullopt: indeterminate (see above).
  int64_t invoke = 0;
  std::optional<int64_t> ret;
  // Get only, when completed: the value read (nullopt: the key was absent).
  std::optional<std::string> observed;
  // CAS only, when completed: whether it reported success.
  bool cas_ok = false;
};

// One line for explanations, e.g.
//   client 3 get("k") -> "v7" [120, 135]
//   client 1 cas("k", absent -> "a") -> ? [140, ?]
std::string describe(const KvOp& op);

// Records a history as a workload runs: invoke_* when a client sends a
// request, then exactly one of complete*/fail when it learns the outcome, or
// nothing if it never does (the op stays indeterminate). An OpId only names
// an op for complete*/fail; it is not an index into ops().
class KvHistory {
 public:
  using OpId = size_t;

  OpId invoke_put(uint32_t client, std::string key, std::string value, int64_t now);
  OpId invoke_get(uint32_t client, std::string key, int64_t now);
  OpId invoke_delete(uint32_t client, std::string key, int64_t now);
  OpId invoke_cas(uint32_t client, std::string key, std::optional<std::string> expected,
                  std::optional<std::string> new_value, int64_t now);

  // A Put or Delete returned ok.
  void complete(OpId id, int64_t now);
  // A Get returned `observed` (nullopt: absent).
  void complete_get(OpId id, std::optional<std::string> observed, int64_t now);
  // A CAS returned; `succeeded` is whether it applied.
  void complete_cas(OpId id, bool succeeded, int64_t now);
  // The op definitely did not take effect (e.g. rejected before it reached
  // the log): it is left out of the history.
  void fail(OpId id);

  // The history to check: every op invoked, minus the failed ones, in the
  // order invoked. Ops neither completed nor failed are indeterminate.
  std::vector<KvOp> ops() const;
  size_t size() const { return ops_.size(); }

 private:
  OpId add(KvOp op);
  KvOp& open_op(OpId id, KvOp::Kind kind, int64_t now);

  std::vector<KvOp> ops_;
  std::vector<bool> closed_;  // completed or failed
  std::vector<bool> failed_;
};

struct CheckResult {
  // True only when the whole history was proven linearizable. False with
  // gave_up == false: a violation was found (definitive). False with
  // gave_up == true: the search budget ran out on some key and no violation
  // was found elsewhere; the answer is unknown (tests should treat it as a
  // failure to investigate, not as a pass).
  bool linearizable = true;
  bool gave_up = false;
  // Empty when linearizable. For a violation: the key, the longest
  // linearizable prefix (its length and the value it leaves), and the ops
  // that could come next, each with why it cannot. For a malformed history or
  // a budget exhaustion: what happened.
  std::string explanation;
  // Search states visited over all keys (a measure of the work done).
  uint64_t states_explored = 0;
};

inline constexpr uint64_t kDefaultMaxStates = 50'000'000;

// Checks `history` (any order; ops with ret < invoke make it malformed, which
// is reported as not linearizable). `max_states` bounds the search states
// visited for each key; a key that exceeds it makes the result gave_up. Keys
// are checked in sorted order and the first violation found is reported.
CheckResult check_linearizable(const std::vector<KvOp>& history,
                               uint64_t max_states = kDefaultMaxStates);

}  // namespace shoal::sim
