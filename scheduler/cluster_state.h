// The whole replicated state machine of a Shoal cluster: the KV state
// (kv_state.h) and the node registry (node_registry.h), fed the committed
// log one entry at a time. Pure: no clocks, no randomness, ordered
// containers; applying is a function of the log, so replicas that applied
// the same entries agree (hash()).
//
// The upgrade rule (DESIGN.md §2): an entry whose envelope is a state-machine
// type (3000..3999) or a version this build does not know is never skipped
// and never crashes the agent. The state stops applying at that entry
// (upgrade_required(), stalled_at()) and keeps serving what it has. Every
// later entry is refused unchanged; the stalled entry itself is tried again
// when offered again, so a newer build that restores this state (or a
// snapshot of it) carries on from there.
//
// Malformed bytes, or a known command that does not decode or validate, are
// not an upgrade: the entry is rejected (kInvalid), nothing changes, and the
// state moves on; every replica rejects it the same way.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "scheduler/kv_state.h"
#include "scheduler/node_registry.h"

namespace shoal::scheduler {

inline constexpr uint8_t kClusterSnapshotVersion = 1;

// The state schema of this build: it understands every entry type and
// version up to it. Bump it with every new entry type or version, and give
// what needs it in schema_needed(). Agents advertise theirs in gossip, and a
// leader proposes an entry only once every voter advertises at least what
// it needs (the second half of the upgrade rule, node/cluster/upgrade_gate.h).
inline constexpr uint32_t kStateSchema = 1;

// The schema an entry needs: 1 for every type and version of schema 1 (and
// for bytes that are no state entry: every build rejects those alike);
// kStateSchema + 1 for one this build does not know, which it must never
// propose.
uint32_t schema_needed(std::span<const uint8_t> entry);

// What applying one entry did.
struct ApplyResult {
  enum class Kind : uint8_t {
    kKv,           // a KV command; see `kv`
    kNode,         // a node upsert; see `node_changed`
    kUnknownType,  // not applied: this build does not know the entry (upgrade required)
    kInvalid,      // rejected: malformed bytes or command; nothing changed
    kNone,         // an empty entry: nothing to apply
    kRestored,     // a restore entry replaced the whole state
  };
  Kind kind = Kind::kNone;
  KvOutcome kv = KvOutcome::kApplied;  // for kKv
  bool node_changed = false;           // for kNode: false when the record was already current

  bool operator==(const ApplyResult&) const = default;
};

// A restore command (kStateRestore): replace the whole state with `image`
// (a ClusterState::snapshot()) when it is applied. At most kMaxRestoreBytes.
inline constexpr size_t kMaxRestoreBytes = 8u << 20;
std::vector<uint8_t> encode_restore(std::span<const uint8_t> image);

class ClusterState {
 public:
  // Applies a committed normal entry's data at log index `index` (strictly
  // greater than applied(); SHOAL_CHECKed). `data` is an envelope:
  // kStateKvCommand -> kv(), kStateNodeUpsert -> nodes(); see the header
  // comment for unknown and invalid entries. Empty data is kNone.
  ApplyResult apply(uint64_t index, std::span<const uint8_t> data);
  // A non-command entry (noop, configuration) at `index`: only advances
  // applied(). Does nothing while upgrade_required().
  void skip(uint64_t index);

  const KvState& kv() const { return kv_; }
  const NodeRegistry& nodes() const { return nodes_; }
  // The last log index applied (or skipped, or rejected as invalid).
  uint64_t applied() const { return applied_; }
  bool upgrade_required() const { return stalled_at_ != 0; }
  // The index of the entry this build could not apply; 0 when not stalled.
  uint64_t stalled_at() const { return stalled_at_; }

  // One envelope kStateSnapshot v1:
  //   [applied, kv snapshot (bin, a kStateKvSnapshot envelope), nodes, stalled_at]
  std::vector<uint8_t> snapshot() const;
  // Validates everything (each part, and that the parts agree); never throws.
  static Result<ClusterState> restore(std::span<const uint8_t> bytes);

  // A hash of the KV state and the node registry.
  uint64_t hash() const;

 private:
  KvState kv_;
  NodeRegistry nodes_;
  uint64_t applied_ = 0;
  uint64_t stalled_at_ = 0;
};

}  // namespace shoal::scheduler
