#include "gossip/member_table.h"

#include <cstring>

#include "core/rng.h"
#include "core/status.h"

namespace shoal::gossip {

namespace {

// Two 8-byte compares the compiler inlines; NodeId's operator== goes
// through a library memcmp call, which dominates lookups.
bool same_id(const NodeId& a, const NodeId& b) {
  uint64_t x[2];
  uint64_t y[2];
  std::memcpy(x, a.bytes().data(), sizeof x);
  std::memcpy(y, b.bytes().data(), sizeof y);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

uint64_t fast_hash(const NodeId& id) {
  uint64_t x[2];
  std::memcpy(x, id.bytes().data(), sizeof x);
  return mix64(x[0], x[1]);
}

}  // namespace

uint64_t MemberTable::home(const NodeId& id) const {
  // Ids are random in production but may be structured in tests; mix them.
  return fast_hash(id) & (index_.size() - 1);
}

uint32_t MemberTable::find(const NodeId& id) const {
  if (index_.empty()) return kNone;
  const uint64_t mask = index_.size() - 1;
  for (uint64_t i = home(id);; i = (i + 1) & mask) {
    const uint32_t slot = index_[i];
    if (slot == kNone) return kNone;
    if (same_id(recs_[slot].id, id)) return slot;
  }
}

void MemberTable::grow() {
  // Load factor at most 1/2: short probe sequences, 8 bytes of index per
  // member.
  const size_t cap = index_.empty() ? 16 : index_.size() * 2;
  index_.assign(cap, kNone);
  const uint64_t mask = cap - 1;
  for (uint32_t slot = 0; slot < recs_.size(); ++slot) {
    if (!recs_[slot].used) continue;
    uint64_t i = home(recs_[slot].id);
    while (index_[i] != kNone) i = (i + 1) & mask;
    index_[i] = slot;
  }
}

uint32_t MemberTable::add(const NodeId& id, MemberStatus status) {
  SHOAL_CHECK(find(id) == kNone);
  if ((used_ + 1) * 2 > index_.size()) grow();
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(recs_.size());
    // Grow by a quarter rather than double: with 10,000 cores of 10,000
    // members each in one simulation, doubling wastes gigabytes.
    if (recs_.size() == recs_.capacity()) recs_.reserve(recs_.size() + recs_.size() / 4 + 16);
    recs_.emplace_back();
  }
  MemberRecord& r = recs_[slot];
  r = MemberRecord{};
  r.id = id;
  r.status = status;
  r.used = true;
  ++used_;
  ++counts_[static_cast<size_t>(status)];
  const uint64_t mask = index_.size() - 1;
  uint64_t i = home(id);
  while (index_[i] != kNone) i = (i + 1) & mask;
  index_[i] = slot;
  return slot;
}

void MemberTable::remove(uint32_t slot) {
  MemberRecord& r = recs_[slot];
  SHOAL_CHECK(r.used);
  const uint64_t mask = index_.size() - 1;
  uint64_t i = home(r.id);
  while (index_[i] != slot) i = (i + 1) & mask;
  // Backward-shift deletion: pull later entries of the probe run into the
  // hole when their home position allows it, so no tombstones accumulate.
  uint64_t hole = i;
  for (uint64_t j = (hole + 1) & mask; index_[j] != kNone; j = (j + 1) & mask) {
    const uint64_t h = home(recs_[index_[j]].id);
    // Entry j may move to `hole` iff its home is not in (hole, j] cyclically.
    const bool home_in_range = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
    if (!home_in_range) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = kNone;
  --counts_[static_cast<size_t>(r.status)];
  --used_;
  r = MemberRecord{};
  free_.push_back(slot);
}

void MemberTable::set_status(uint32_t slot, MemberStatus status) {
  MemberRecord& r = recs_[slot];
  --counts_[static_cast<size_t>(r.status)];
  ++counts_[static_cast<size_t>(status)];
  r.status = status;
}

}  // namespace shoal::gossip
