// MemberTable: the compact member list inside the gossip core.
//
// A simulation of 10,000 nodes holds 10^8 member records, so a record is
// kept small: the id, a shared pointer to interned metadata, the incarnation,
// the time of the last status change and the status. Records live in one
// vector (slots are reused after a member is reaped) and a linear-probing
// hash index of 32-bit slot numbers finds them by id.
//
// The table also keeps per-status counts, so alive_count() and the cluster
// size used by the timing formulas are O(1).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/ids.h"
#include "core/time.h"
#include "gossip/types.h"

namespace shoal::gossip {

struct MemberRecord {
  NodeId id;
  std::shared_ptr<const NodeMeta> meta;
  uint64_t incarnation = 0;
  TimePoint since{};  // local time of the last status change
  MemberStatus status = MemberStatus::kAlive;
  // Remembered from a previous run (restore()) and not heard from since: an
  // alive message at the same incarnation is enough to bring it back.
  bool restored = false;
  bool used = false;
};

class MemberTable {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // The slot holding `id`, or kNone.
  uint32_t find(const NodeId& id) const;
  // Adds a record for `id` (which must be absent) with the given status.
  uint32_t add(const NodeId& id, MemberStatus status);
  // Frees the slot.
  void remove(uint32_t slot);

  MemberRecord& at(uint32_t slot) { return recs_[slot]; }
  const MemberRecord& at(uint32_t slot) const { return recs_[slot]; }
  // Changes a record's status, keeping the counts right.
  void set_status(uint32_t slot, MemberStatus status);

  // Records in use.
  size_t size() const { return used_; }
  // One past the highest slot ever used: iterate [0, slots()) and skip
  // records with !used.
  uint32_t slots() const { return static_cast<uint32_t>(recs_.size()); }
  size_t count(MemberStatus s) const { return counts_[static_cast<size_t>(s)]; }

 private:
  uint64_t home(const NodeId& id) const;
  void grow();

  std::vector<MemberRecord> recs_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> index_;  // kNone = empty; size is a power of two
  size_t used_ = 0;
  std::array<size_t, 4> counts_{};
};

}  // namespace shoal::gossip
