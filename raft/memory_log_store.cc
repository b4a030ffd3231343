// MemoryLogStore: the in-memory double of log_store.h.
//
// Representation. A State holds the hard state, the latest snapshot and the
// entries. Normally entries[0].index == snap.meta.index + 1, so the snapshot
// meta answers term(first_index() - 1). create_snapshot() may compact less
// than the snapshot covers (compact_to < snap.meta.index, keeping entries for
// slow followers); the term of compact_to must then still be known, and
// nothing in State holds it. In that case entries[0] is a *marker*: an entry
// with empty data at index compact_to that carries its term and is not part
// of the log (etcd-raft's MemoryStorage keeps such a dummy entry always).
// A marker is recognisable because its index is <= snap.meta.index, which a
// real first entry never is without one. entry_count() counts it.
//
// Durability. Every mutation changes live_; a synced one then copies live_
// into durable_ (a sync makes every earlier write durable too, like an fsync
// of a sequential WAL). power_cut() restores live_ from durable_.
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string>

#include "raft/log_store.h"

namespace shoal::raft {
namespace {

// The helpers are templates so that they can take the private
// MemoryLogStore::State without naming it.
template <class S>
bool has_marker(const S& s) {
  return !s.entries.empty() && s.entries.front().index <= s.snap.meta.index;
}

template <class S>
Index first_of(const S& s) {
  return has_marker(s) ? s.entries.front().index + 1 : s.snap.meta.index + 1;
}

template <class S>
Index last_of(const S& s) {
  return s.entries.empty() ? s.snap.meta.index : s.entries.back().index;
}

// Position in s.entries of index i (valid for first_of(s) - 1 <= i <= last
// when entries is non-empty and i is covered by it).
template <class S>
size_t pos_of(const S& s, Index i) {
  return static_cast<size_t>(i.value() - s.entries.front().index.value());
}

template <class S>
Result<Term> term_of(const S& s, Index i) {
  const Index first = first_of(s);
  const Index last = last_of(s);
  if (i == first - 1) {
    return has_marker(s) ? s.entries.front().term : s.snap.meta.term;
  }
  if (i < first) return Status::not_found("raft log: index " + to_string(i) + " is compacted");
  if (i > last) return Status::not_found("raft log: index " + to_string(i) + " is past the end");
  return s.entries[pos_of(s, i)].term;
}

}  // namespace

Status check_append(std::span<const Entry> entries, Index last) {
  if (entries.empty()) return Status::ok();
  if (entries.front().index.value() == 0) {
    return Status::invalid_argument("raft log: entry index 0");
  }
  if (entries.front().index > last + 1) {
    return Status::invalid_argument("raft log: append at " + to_string(entries.front().index) +
                                    " leaves a gap after " + to_string(last));
  }
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].index != entries[k - 1].index + 1) {
      return Status::invalid_argument("raft log: entries to append are not contiguous at " +
                                      to_string(entries[k].index));
    }
  }
  return Status::ok();
}

MemoryLogStore::MemoryLogStore() = default;

HardState MemoryLogStore::hard_state() const { return live_.hs; }
Index MemoryLogStore::first_index() const { return first_of(live_); }
Index MemoryLogStore::last_index() const { return last_of(live_); }
Result<Term> MemoryLogStore::term(Index i) const { return term_of(live_, i); }

Result<std::vector<Entry>> MemoryLogStore::entries(Index lo, Index hi, size_t max_bytes) const {
  if (lo < first_index()) {
    return Status::not_found("raft log: index " + to_string(lo) + " is compacted");
  }
  if (hi > last_index() + 1) {
    return Status::not_found("raft log: index " + to_string(hi - 1) + " is past the end");
  }
  std::vector<Entry> out;
  size_t bytes = 0;
  for (Index i = lo; i < hi; i = i + 1) {
    const Entry& e = live_.entries[pos_of(live_, i)];
    bytes += e.size_bytes();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<Snapshot> MemoryLogStore::snapshot() const { return live_.snap; }

Status MemoryLogStore::save(const std::optional<HardState>& hs, std::span<const Entry> entries,
                            bool sync) {
  SHOAL_RETURN_IF_ERROR(check_append(entries, last_index()));
  // Entries the snapshot already covers are dropped (etcd-raft does the same).
  const Index first = first_index();
  while (!entries.empty() && entries.front().index < first) entries = entries.subspan(1);

  if (hs) live_.hs = *hs;
  if (!entries.empty()) {
    if (live_.entries.empty()) {
      live_.entries.assign(entries.begin(), entries.end());
    } else {
      live_.entries.resize(pos_of(live_, entries.front().index));
      live_.entries.insert(live_.entries.end(), entries.begin(), entries.end());
    }
  }
  if (sync && !skip_sync_) durable_ = live_;
  return Status::ok();
}

Status MemoryLogStore::save_snapshot(const Snapshot& snap) {
  if (snap.meta.index < live_.snap.meta.index) {
    return Status::conflict("raft log: snapshot at " + to_string(snap.meta.index) +
                            " is older than the stored one at " + to_string(live_.snap.meta.index));
  }
  State next;
  next.hs = live_.hs;
  next.snap = snap;
  // Keep the suffix after the snapshot only when the log agrees with it there.
  const Result<Term> t = term_of(live_, snap.meta.index);
  if (t.is_ok() && *t == snap.meta.term && snap.meta.index < last_of(live_)) {
    const size_t p = pos_of(live_, snap.meta.index + 1);
    next.entries.assign(live_.entries.begin() + static_cast<ptrdiff_t>(p), live_.entries.end());
  }
  live_ = std::move(next);
  if (!skip_sync_) durable_ = live_;
  return Status::ok();
}

Status MemoryLogStore::create_snapshot(const Snapshot& snap, Index compact_to) {
  if (snap.meta.index < live_.snap.meta.index) {
    return Status::conflict("raft log: snapshot at " + to_string(snap.meta.index) +
                            " is older than the stored one at " + to_string(live_.snap.meta.index));
  }
  if (compact_to > snap.meta.index) {
    return Status::invalid_argument("raft log: compact_to " + to_string(compact_to) +
                                    " is past the snapshot at " + to_string(snap.meta.index));
  }
  const Result<Term> snap_term = term_of(live_, snap.meta.index);
  if (!snap_term.is_ok() || *snap_term != snap.meta.term) {
    return Status::invalid_argument("raft log: snapshot at " + to_string(snap.meta.index) +
                                    " does not match the log");
  }
  // Never un-compact: the new log start is at least the current one.
  const Index start = std::max(compact_to, first_index() - 1);
  const Term start_term = *term_of(live_, start);  // first - 1 <= start <= snap index <= last

  std::vector<Entry> kept;
  if (start < snap.meta.index) {
    Entry marker;
    marker.index = start;
    marker.term = start_term;
    kept.push_back(std::move(marker));
  }
  if (start < last_of(live_)) {
    const size_t p = pos_of(live_, start + 1);
    kept.insert(kept.end(),
                std::make_move_iterator(live_.entries.begin() + static_cast<ptrdiff_t>(p)),
                std::make_move_iterator(live_.entries.end()));
  }
  live_.entries = std::move(kept);
  live_.snap = snap;
  if (!skip_sync_) durable_ = live_;
  return Status::ok();
}

void MemoryLogStore::power_cut() { live_ = durable_; }

}  // namespace shoal::raft
