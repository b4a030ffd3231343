#include "raft/raft_log.h"

#include <algorithm>

namespace shoal::raft {

RaftLog::RaftLog(const LogStore& store, Index applied)
    : store_(store), unstable_offset_(store.last_index() + 1) {
  const HardState hs = store.hard_state();
  // The commit point never runs past what we hold, nor sits below the
  // snapshot (which only ever covers committed entries).
  const Index floor = store.first_index() - 1;
  committed_ = std::clamp(hs.commit, floor, store.last_index());
  // A commit-only hard state is saved without a sync, so after a power cut
  // it may lag what a durable state machine already applied; applied
  // entries were committed, so the commit point is raised, never applied
  // lowered (that would apply entries twice).
  committed_ = std::max(committed_, std::min(applied, store.last_index()));
  applied_ = std::clamp(applied, floor, committed_);
}

Index RaftLog::first_index() const {
  if (pending_snapshot_) return pending_snapshot_->meta.index + 1;
  return store_.first_index();
}

Index RaftLog::last_index() const {
  if (!unstable_.empty()) return unstable_.back().index;
  if (pending_snapshot_) return pending_snapshot_->meta.index;
  return store_.last_index();
}

Result<Term> RaftLog::term(Index i) const {
  if (i >= unstable_offset_) {
    const uint64_t k = i.value() - unstable_offset_.value();
    if (k < unstable_.size()) return unstable_[k].term;
    return Status::not_found("raft log: index " + to_string(i) + " beyond the end");
  }
  if (pending_snapshot_) {
    // Everything below the snapshot is gone; stored entries above it are
    // stale (the store still has them until the host saves the snapshot).
    if (i == pending_snapshot_->meta.index) return pending_snapshot_->meta.term;
    return Status::not_found("raft log: index " + to_string(i) + " compacted");
  }
  if (const Entry* e = cached(i); e != nullptr && i + 1 >= store_.first_index()) return e->term;
  return store_.term(i);
}

Term RaftLog::term_or_zero(Index i) const {
  auto t = term(i);
  return t ? *t : Term(0);
}

bool RaftLog::match_term(Index i, Term t) const {
  auto got = term(i);
  return got && *got == t;
}

bool RaftLog::is_up_to_date(Index last, Term t) const {
  const Term mine = last_term();
  return t > mine || (t == mine && last >= last_index());
}

Result<std::vector<Entry>> RaftLog::entries(Index lo, Index hi, size_t max_bytes) const {
  std::vector<Entry> out;
  if (lo >= hi) return out;
  if (lo < first_index()) return Status::not_found("raft log: entries compacted");
  size_t bytes = 0;
  // The stored part first, then the unstable tail.
  if (lo < unstable_offset_ && !pending_snapshot_) {
    const Index stored_hi = std::min(hi, unstable_offset_);
    if (cached(lo) != nullptr) {
      // From the cache, which runs contiguously up to the unstable tail.
      for (Index i = lo; i < stored_hi; i = i + 1) {
        const Entry* e = cached(i);
        if (e == nullptr) break;
        if (!out.empty() && bytes + e->size_bytes() > max_bytes) return out;
        bytes += e->size_bytes();
        out.push_back(*e);
      }
      if (out.empty() || out.back().index + 1 < stored_hi) return out;
      lo = stored_hi;
    }
  }
  if (lo < hi && lo < unstable_offset_ && !pending_snapshot_) {
    SHOAL_CHECK(out.empty());
    const Index stored_hi = std::min(hi, unstable_offset_);
    auto got = store_.entries(lo, stored_hi, max_bytes);
    if (!got) return got.status();
    for (Entry& e : *got) bytes += e.size_bytes();
    out = std::move(*got);
    if (out.empty() || out.back().index + 1 < stored_hi || bytes >= max_bytes) return out;
    lo = stored_hi;
  }
  for (Index i = std::max(lo, unstable_offset_); i < hi; i = i + 1) {
    const uint64_t k = i.value() - unstable_offset_.value();
    if (k >= unstable_.size()) break;
    if (!out.empty() && bytes + unstable_[k].size_bytes() > max_bytes) break;
    bytes += unstable_[k].size_bytes();
    out.push_back(unstable_[k]);
  }
  return out;
}

void RaftLog::append(std::vector<Entry> ents) {
  if (ents.empty()) return;
  const Index first = ents.front().index;
  SHOAL_CHECK_MSG(first > committed_, "raft log: overwriting committed entries");
  SHOAL_CHECK(first <= last_index() + 1);
  if (first >= unstable_offset_) {
    // Within (or right after) the unstable tail.
    unstable_.resize(first.value() - unstable_offset_.value());
  } else {
    // Replaces part of what is stored: the unstable tail restarts there and
    // the store's suffix is overwritten when the host saves it.
    unstable_.clear();
    unstable_offset_ = first;
    truncate_cache(first);
  }
  for (Entry& e : ents) unstable_.push_back(std::move(e));
}

std::optional<Index> RaftLog::maybe_append(Index prev, Term prev_term, std::vector<Entry> ents,
                                           std::optional<Index>& truncated_at) {
  truncated_at.reset();
  if (!match_term(prev, prev_term)) return std::nullopt;
  const Index last_new = prev + ents.size();
  // Skip the entries we already hold; find the first conflict or new one.
  size_t k = 0;
  for (; k < ents.size(); ++k) {
    const Entry& e = ents[k];
    if (e.index > last_index()) break;
    if (!match_term(e.index, e.term)) {
      // A conflict below the commit point would mean two leaders committed
      // different entries at one index: Raft's safety is broken.
      SHOAL_CHECK_MSG(e.index > committed_, "raft log: conflict at a committed index");
      truncated_at = e.index;
      break;
    }
  }
  if (k < ents.size()) {
    ents.erase(ents.begin(), ents.begin() + static_cast<std::ptrdiff_t>(k));
    append(std::move(ents));
  }
  return last_new;
}

Index RaftLog::find_conflict_by_term(Index i, Term t) const {
  i = std::min(i, last_index());
  for (;; i = i - 1) {
    auto got = term(i);
    if (!got || *got <= t || i.value() == 0) return i;
  }
}

void RaftLog::commit_to(Index i) {
  if (i <= committed_) return;
  SHOAL_CHECK_MSG(i <= last_index(), "raft log: commit beyond the last index");
  committed_ = i;
}

void RaftLog::restore(Snapshot snap) {
  cache_.clear();
  cache_bytes_ = 0;
  committed_ = snap.meta.index;
  applied_ = snap.meta.index;
  unstable_.clear();
  unstable_offset_ = snap.meta.index + 1;
  pending_snapshot_ = std::move(snap);
}

bool RaftLog::has_next_committed() const {
  return committed_ > applied_ && applied_ + 1 >= first_index();
}

std::vector<Entry> RaftLog::next_committed(size_t max_bytes) const {
  if (!has_next_committed()) return {};
  auto got = entries(applied_ + 1, committed_ + 1, max_bytes);
  SHOAL_CHECK_MSG(got.is_ok(), "raft log: committed entries unreadable");
  return std::move(*got);
}

void RaftLog::stable_and_applied(Index applied_to, bool snapshot_saved) {
  if (snapshot_saved) pending_snapshot_.reset();
  if (!unstable_.empty()) {
    truncate_cache(unstable_offset_);
    if (cache_.empty()) cache_offset_ = unstable_offset_;
    for (Entry& e : unstable_) {
      cache_bytes_ += e.size_bytes();
      cache_.push_back(std::move(e));
    }
    while (cache_bytes_ > kCacheBytes && cache_.size() > 1) {
      cache_bytes_ -= cache_.front().size_bytes();
      cache_.pop_front();
      cache_offset_ = cache_offset_ + 1;
    }
  }
  unstable_.clear();
  unstable_offset_ = last_index() + 1;
  if (pending_snapshot_) unstable_offset_ = pending_snapshot_->meta.index + 1;
  applied_ = std::max(applied_, applied_to);
}

const Entry* RaftLog::cached(Index i) const {
  if (cache_.empty() || i < cache_offset_) return nullptr;
  const uint64_t k = i.value() - cache_offset_.value();
  return k < cache_.size() ? &cache_[k] : nullptr;
}

void RaftLog::truncate_cache(Index from) {
  while (!cache_.empty() && cache_.back().index >= from) {
    cache_bytes_ -= cache_.back().size_bytes();
    cache_.pop_back();
  }
}

}  // namespace shoal::raft
