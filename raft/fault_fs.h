// FaultFs: a fault-injecting rocksdb::FileSystem for crash tests of the Raft
// log store (in the spirit of RocksDB's own FaultInjectionTestFS, much
// smaller).
//
// Model. Data a file received since its last Sync/Fsync is volatile, and so
// is a directory entry (a file created, or renamed into place) since the last
// fsync of its directory. power_cut() makes the disk what it would be after
// losing power: every tracked file is truncated to its last synced size, and
// every file whose directory entry is still volatile is deleted. Files that
// existed before the FaultFs saw them are taken as durable.
//
// A crash test:
//   auto fs = std::make_shared<FaultFs>();
//   opts.env = FaultFs::make_env(fs);
//   auto store = RocksLogStore::open(dir, opts);  ... writes ...
//   fs->freeze();        // the power goes: nothing becomes durable any more
//   store.reset();       // the "process" ends (closing syncs nothing now)
//   fs->power_cut();     // drop what was not durable; the disk works again
//   store = RocksLogStore::open(dir, opts);  ... check ...
// The database must be closed before power_cut(). freeze() is what makes a
// crash a crash: without it, closing the database may sync files (a clean
// shutdown).
//
// Errors: set_fail_syncs(true) makes every file and directory sync fail with
// an IOError (nothing becomes durable), to test the fail-stop path.
//
// Thread-safe (RocksDB calls it from its background threads).
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace shoal::raft {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFs(std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());

  // An Env whose file system is `fs` (rocksdb::NewCompositeEnv), for
  // RocksLogStoreOptions::env.
  static std::shared_ptr<rocksdb::Env> make_env(const std::shared_ptr<FaultFs>& fs);

  static const char* kClassName() { return "ShoalFaultFs"; }
  const char* Name() const override { return kClassName(); }

  // From now on syncs succeed but make nothing durable, and deletions are
  // ignored (they never reach the disk): the power is off and the process
  // does not know yet. power_cut() ends it.
  void freeze();
  // Drops everything not durable (see above) and clears the tracking; the
  // file system works normally again. Every file must be closed.
  void power_cut();
  // A power cut in a live process (the chaos suite's power-cut mode, see
  // node/host/test_faults.h): waits for the file operations in progress, blocks
  // every later one for good, then drops what is not durable as power_cut()
  // does, with the files still open. Returns the bytes dropped. The caller
  // must end the process at once: RocksDB's threads hang in their next I/O.
  uint64_t crash();
  // When set, Sync/Fsync of files and directories return IOError.
  void set_fail_syncs(bool fail) { fail_syncs_ = fail; }
  // Called with the file's path at the start of every file Sync/Fsync, on
  // the syncing thread (a test may block in it to hold a write mid-fsync).
  // Set it before the database is opened or while no sync runs.
  void set_sync_hook(std::function<void(const std::string& path)> hook) {
    sync_hook_ = std::move(hook);
  }

  // Successful file syncs so far (WAL group commit: one per synced batch).
  uint64_t file_syncs() const { return file_syncs_; }
  // Bytes the last power_cut() dropped (truncated or deleted).
  uint64_t dropped_bytes() const;

  // --- rocksdb::FileSystem ---
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& s, const std::string& t,
                               const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;

 private:
  friend class FaultWritableFile;
  friend class FaultDirectory;

  struct FileState {
    uint64_t size = 0;    // bytes written
    uint64_t synced = 0;  // bytes durable
  };

  // Hooks of the wrapped files and directories.
  void track_new(const std::string& f);
  void on_write(const std::string& f, uint64_t end);  // data now reaches `end`
  void on_truncate(const std::string& f, uint64_t size);
  uint64_t size_of(const std::string& f);
  void on_file_sync(const std::string& f, uint64_t size);
  void on_dir_sync(const std::string& dir);
  bool syncs_fail() const { return fail_syncs_; }
  void before_sync(const std::string& f) const {
    if (sync_hook_) sync_hook_(f);
  }

  // Held shared by every file operation of the wrapped files and
  // directories (and by this file system's own), exclusively by crash(),
  // which never lets go.
  std::shared_mutex io_mu_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  // Directory -> files whose entry in it is not durable yet.
  std::map<std::string, std::set<std::string>> volatile_entries_;
  uint64_t dropped_bytes_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<uint64_t> file_syncs_{0};
  std::function<void(const std::string&)> sync_hook_;
};

}  // namespace shoal::raft
