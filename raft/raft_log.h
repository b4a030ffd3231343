// The core's view of its log: what is on stable storage (read through
// LogStore) plus what it appended since the host last persisted (the
// "unstable" tail), plus a snapshot received from the leader and not yet
// persisted. Also tracks the commit index and how far committed entries
// have been handed to the host for applying. Internal to raft/.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"
#include "raft/log_store.h"
#include "raft/types.h"

namespace shoal::raft {

class RaftLog {
 public:
  // `applied`: the host's state machine has applied everything up to here.
  RaftLog(const LogStore& store, Index applied);

  Index first_index() const;
  Index last_index() const;
  Term last_term() const { return term_or_zero(last_index()); }
  // The term of entry `i`; NotFound when compacted or beyond the end.
  Result<Term> term(Index i) const;
  // term(i), or zero when unknown (for comparisons in matching tests).
  Term term_or_zero(Index i) const;
  bool match_term(Index i, Term t) const;
  // Raft §5.4.1: is (term, index) at least as up to date as our log?
  bool is_up_to_date(Index last, Term term) const;
  // Entries [lo, hi) up to max_bytes (at least one); NotFound if compacted.
  Result<std::vector<Entry>> entries(Index lo, Index hi, size_t max_bytes) const;

  // Appends after truncating any conflicting suffix. `ents` must be
  // contiguous and start at most at last_index() + 1, above the commit.
  void append(std::vector<Entry> ents);
  // Follower side of AppendEntries: if the log matches (prev, prev_term),
  // merges `ents` (skipping those already present, truncating at the first
  // conflict) and returns the last index the leader's message covers.
  // Returns nullopt on a mismatch. `truncated_at` receives the index of the
  // first entry removed by a conflict (nullopt if none).
  std::optional<Index> maybe_append(Index prev, Term prev_term, std::vector<Entry> ents,
                                    std::optional<Index>& truncated_at);
  // Fast backtracking (as etcd-raft's findConflictByTerm): the largest index
  // j <= min(i, last_index()) whose term is <= t. Entries above j cannot
  // match a log whose entry at i has term t (terms never decrease along a
  // log), so probing can jump to j. Stops at the first unknown (compacted)
  // index.
  Index find_conflict_by_term(Index i, Term t) const;

  Index committed() const { return committed_; }
  void commit_to(Index i);
  // Installs a snapshot from the leader: the log is now empty after it.
  void restore(Snapshot snap);

  // ---- Ready plumbing ----
  bool has_unstable() const { return !unstable_.empty(); }
  const std::vector<Entry>& unstable() const { return unstable_; }
  const std::optional<Snapshot>& pending_snapshot() const { return pending_snapshot_; }
  // Committed entries not yet handed out, up to max_bytes (at least one).
  bool has_next_committed() const;
  std::vector<Entry> next_committed(size_t max_bytes) const;
  // The host persisted everything handed out in a Ready: unstable entries
  // are now in the store and the pending snapshot is saved; committed
  // entries up to `applied_to` were handed out.
  void stable_and_applied(Index applied_to, bool snapshot_saved);
  Index applied() const { return applied_; }

 private:
  // Entries the host persisted recently, kept so that the leader's
  // replication, term lookups and applying do not read them back from disk.
  // Contiguous from cache_offset_; at most kCacheBytes.
  static constexpr size_t kCacheBytes = 8u << 20;
  const Entry* cached(Index i) const;
  void truncate_cache(Index from);

  const LogStore& store_;
  std::deque<Entry> cache_;
  Index cache_offset_;
  size_t cache_bytes_ = 0;
  std::optional<Snapshot> pending_snapshot_;
  std::vector<Entry> unstable_;  // unstable_[0].index == unstable_offset_
  Index unstable_offset_;
  Index committed_;
  Index applied_;
};

}  // namespace shoal::raft
