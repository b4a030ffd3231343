// SimLogWriter: the raft::LogWriter a simulated RaftHost writes its
// MemoryLogStore through (the host reads the store directly). It observes
// and, on demand, breaks the host's writes:
//
//   - every save() made durable (sync) is reported with its hard state, so
//     the harness's ledger sees each vote the host believes is on disk
//     before the host can send it (vote durability);
//   - a node can die inside an fsync: before each synced save() the
//     die_in_sync hook decides; if it says so, that write and every later
//     one stay unsynced (snapshot writes, always synced, are dropped), so
//     the power cut of the crash that follows loses them. What the host did
//     before the write stays visible; the harness hides what it does after.
//
// MemoryLogStore::set_skip_sync() on the store still works underneath (the
// skipped-fsync negative control): such saves are reported as synced too,
// which is what the host believes.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include "raft/log_store.h"

namespace shoal::sim::raft_sim {

class SimLogWriter final : public raft::LogWriter {
 public:
  struct Hooks {
    // Asked before each synced save(): true = the node dies in this fsync.
    std::function<bool()> die_in_sync;
    // After a synced save() that carried a hard state.
    std::function<void(const raft::HardState&)> on_synced_hard_state;
  };
  SimLogWriter(raft::MemoryLogStore& store, Hooks hooks)
      : store_(store), hooks_(std::move(hooks)) {}

  Status save(const std::optional<raft::HardState>& hs, std::span<const raft::Entry> entries,
              bool sync) override;
  Status save_snapshot(const raft::Snapshot& snap) override;
  Status create_snapshot(const raft::Snapshot& snap, raft::Index compact_to) override;

  // Whether the node died in an fsync (nothing written since is durable).
  bool died() const { return died_; }

 private:
  raft::MemoryLogStore& store_;
  Hooks hooks_;
  bool died_ = false;
};

}  // namespace shoal::sim::raft_sim
