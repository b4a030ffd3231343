// Where Raft's durable state lives. The core only reads through LogStore
// (etcd-raft's Storage): it never writes. The host writes through
// LogWriter, following the core's Ready (see raft.h):
//
//   1. ready = raft.take_ready();
//   2. writer.save_snapshot(ready.snapshot) if one arrived from the leader;
//      then writer.save(ready.hard_state, ready.entries, ready.must_sync) —
//      one atomic batch; synced when must_sync;
//   3. only then send ready.messages (persist before send);
//   4. apply ready.committed and ready.snapshot to the state machine;
//   5. raft.advance(ready).
//
// An I/O error in step 2 is fatal: the host stops the process (fail-stop).
// Continuing after a failed fsync could acknowledge what the disk lost.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "raft/types.h"

namespace shoal::raft {

// The read-only view the core needs. Indexes follow etcd-raft: the log holds
// entries [first_index(), last_index()]; the entry at first_index() - 1 is
// covered by the snapshot (its term is still known: term(first_index() - 1)).
class LogStore {
 public:
  virtual ~LogStore() = default;

  // The hard state and configuration as of the last save (zero/empty for a
  // fresh store).
  virtual HardState hard_state() const = 0;
  virtual Index first_index() const = 0;
  virtual Index last_index() const = 0;
  // The term of entry `i`, for first_index() - 1 <= i <= last_index();
  // NotFound below (compacted) or above that range.
  virtual Result<Term> term(Index i) const = 0;
  // Entries [lo, hi), lo >= first_index(), hi <= last_index() + 1, stopping
  // once their size_bytes() exceeds max_bytes (at least one entry always).
  virtual Result<std::vector<Entry>> entries(Index lo, Index hi, size_t max_bytes) const = 0;
  // The latest snapshot (empty() if none). The core asks for it only to send
  // it to a follower that is too far behind.
  virtual Result<Snapshot> snapshot() const = 0;
};

// The write side, used by the host only. Both stores behave alike:
//   - save() skips entries below first_index() (already compacted), and
//     refuses gaps, out-of-order indexes or index 0 (kInvalidArgument);
//   - save(nullopt, {}, sync=true) makes earlier unsynced writes durable;
//   - save_snapshot() of a snapshot older than the stored one is kConflict;
//   - create_snapshot() is always synced, never un-compacts, and refuses a
//     meta that does not match the log or compact_to past the snapshot.
class LogWriter {
 public:
  virtual ~LogWriter() = default;
  // Atomically: sets the hard state (if `hs` has a value) and appends
  // `entries`, first deleting any stored entries at or after
  // entries.front().index (a follower's log being overwritten by its leader).
  // Synced before returning when `sync`. Entries must be contiguous and
  // start at most at last_index() + 1.
  [[nodiscard]] virtual Status save(const std::optional<HardState>& hs,
                                    std::span<const Entry> entries, bool sync) = 0;
  // Replaces everything with `snap` (a snapshot received from the leader):
  // entries up to snap.meta.index are dropped, and so are later ones that
  // disagree with it. Synced.
  [[nodiscard]] virtual Status save_snapshot(const Snapshot& snap) = 0;
  // Records a snapshot the local state machine took at `snap.meta.index`
  // (which must be applied, hence committed) and drops entries up to
  // `compact_to` (<= snap.meta.index), keeping the rest for slow followers.
  [[nodiscard]] virtual Status create_snapshot(const Snapshot& snap, Index compact_to) = 0;
};

// The shape every store's save() requires of `entries` for a log ending at
// `last`: contiguous indexes, none zero, starting at most at last + 1
// (kInvalidArgument naming the problem otherwise).
[[nodiscard]] Status check_append(std::span<const Entry> entries, Index last);

// The in-memory double: a LogStore and LogWriter in one, for unit tests and
// the simulator. It models a disk: save() without sync leaves the write
// "unsynced", and power_cut() drops every unsynced write (the last synced
// state survives). Cheap to copy.
class MemoryLogStore final : public LogStore, public LogWriter {
 public:
  MemoryLogStore();

  HardState hard_state() const override;
  Index first_index() const override;
  Index last_index() const override;
  Result<Term> term(Index i) const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, size_t max_bytes) const override;
  Result<Snapshot> snapshot() const override;

  Status save(const std::optional<HardState>& hs, std::span<const Entry> entries,
              bool sync) override;
  Status save_snapshot(const Snapshot& snap) override;
  Status create_snapshot(const Snapshot& snap, Index compact_to) override;

  // Simulated power loss: everything since the last sync is gone.
  void power_cut();
  // Test hook (the negative control of the crash tests): when set, save()
  // with sync=true does not actually make its write durable.
  void set_skip_sync(bool skip) { skip_sync_ = skip; }
  size_t entry_count() const { return live_.entries.size(); }

 private:
  struct State {
    HardState hs;
    Snapshot snap;  // meta.index = first_index - 1
    // Usually entries[0].index == snap.meta.index + 1. After a partial
    // compaction (compact_to < snap index) entries[0] is a marker with empty
    // data at compact_to, kept only for its term (as etcd-raft does).
    std::vector<Entry> entries;
  };
  State live_;
  State durable_;
  bool skip_sync_ = false;
};

}  // namespace shoal::raft
