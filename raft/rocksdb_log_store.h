// RocksLogStore: Raft's durable log in a RocksDB database of its own.
//
// Layout. Every key starts with a one-byte tag:
//   0x01 + big-endian u64 index  -> codec::encode(Entry)  (ordered by index)
//   0x02                         -> codec::encode(HardState)
//   0x03                         -> codec::encode(SnapshotMeta)
//   0x04                         -> the snapshot's opaque data
//   0x05                         -> the log start: big-endian u64 index and
//                                   u64 term of the entry at first_index()-1
// The log start is its own key because create_snapshot() may compact less
// than the snapshot covers; term(first_index() - 1) must still be known.
//
// Writes. Everything one save() / save_snapshot() / create_snapshot() does is
// one rocksdb::WriteBatch, written with WriteOptions::sync as asked (the two
// snapshot calls always sync), so all entries of one Ready share one fsync of
// the WAL. The WAL stays on (it is what makes a synced write durable); a
// conflicting suffix is removed with a DeleteRange in the same batch, so a
// crash never leaves a half-truncated log. A non-synced write that a later
// synced one follows is made durable by it (the WAL is sequential).
//
// Failures. Any write error (failed WAL append or fsync) is fatal for a Raft
// host: after a failed fsync the disk may have lost what it acknowledged, so
// the host must stop (fail-stop, see log_store.h). The store returns the
// Status, refuses every later write with the same Status, and leaves its
// cached view at the last successful write. Stored bytes that do not decode
// come back as kDecode Statuses; nothing here aborts on disk content.
//
// first/last index, the log start, the last term, the snapshot index and the
// hard state are cached in memory; open() recovers them from the database.
// Not thread-safe: one thread (the Raft host's) drives the store.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "raft/log_store.h"
#include "raft/types.h"

namespace rocksdb {
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace shoal::raft {

struct RocksLogStoreOptions {
  // The Env RocksDB runs on; nullptr is rocksdb::Env::Default(). Crash tests
  // pass FaultFs::make_env() (fault_fs.h).
  std::shared_ptr<rocksdb::Env> env;
  // Create the database when `dir` holds none.
  bool create_if_missing = true;
  // Test only, the negative control of the crash tests: a write asked to sync
  // is written without syncing, so a power cut loses it.
  bool skip_sync = false;
};

class RocksLogStore final : public LogStore, public LogWriter {
 public:
  // Opens (or creates) the log in directory `dir` and recovers the cached
  // state. kIoError when RocksDB cannot open it, kDecode when stored bytes
  // are corrupt or inconsistent (e.g. a gap between log start and entries).
  [[nodiscard]] static Result<std::unique_ptr<RocksLogStore>> open(
      const std::string& dir, const RocksLogStoreOptions& options = {});
  ~RocksLogStore() override;

  RocksLogStore(const RocksLogStore&) = delete;
  RocksLogStore& operator=(const RocksLogStore&) = delete;

  HardState hard_state() const override { return hs_; }
  Index first_index() const override { return start_index_ + 1; }
  Index last_index() const override { return last_index_; }
  Result<Term> term(Index i) const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, size_t max_bytes) const override;
  Result<Snapshot> snapshot() const override;

  Status save(const std::optional<HardState>& hs, std::span<const Entry> entries,
              bool sync) override;
  Status save_snapshot(const Snapshot& snap) override;
  Status create_snapshot(const Snapshot& snap, Index compact_to) override;

  // The Status of the first failed write, ok() while none failed.
  const Status& failure() const { return failed_; }

 private:
  RocksLogStore(std::unique_ptr<rocksdb::DB> db, std::shared_ptr<rocksdb::Env> env, bool skip_sync);
  Status recover();
  Result<Entry> read_entry(Index i) const;
  // Writes `batch`, remembering a failure.
  Status write(rocksdb::WriteBatch& batch, bool sync);

  std::shared_ptr<rocksdb::Env> env_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  bool skip_sync_ = false;
  Status failed_;

  HardState hs_;
  Index start_index_;  // first_index() - 1
  Term start_term_;    // its term
  Index last_index_;
  Term last_term_;
  Index snap_index_;  // 0: no snapshot
};

}  // namespace shoal::raft
