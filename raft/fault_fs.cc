// FaultFs: see fault_fs.h for the model.
#include "raft/fault_fs.h"

#include <rocksdb/env.h>

#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <utility>

namespace shoal::raft {
namespace {

std::string strip_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string dir_of(const std::string& f) {
  const size_t slash = f.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return strip_slashes(f.substr(0, slash));
}

rocksdb::IOStatus injected_sync_error() {
  return rocksdb::IOStatus::IOError("injected sync failure (FaultFs)");
}

}  // namespace

// A writable file that reports appends and syncs to its FaultFs.
class FaultWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> base, FaultFs* fs, std::string path)
      : FSWritableFileOwnerWrapper(std::move(base)), fs_(fs), path_(std::move(path)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& opts,
                           rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    const uint64_t start = fs_->size_of(path_);
    rocksdb::IOStatus s = target()->Append(data, opts, dbg);
    if (s.ok()) fs_->on_write(path_, start + data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& opts,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    const uint64_t start = fs_->size_of(path_);
    rocksdb::IOStatus s = target()->Append(data, opts, info, dbg);
    if (s.ok()) fs_->on_write(path_, start + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& opts,
                                     rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    rocksdb::IOStatus s = target()->PositionedAppend(data, offset, opts, dbg);
    if (s.ok()) fs_->on_write(path_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& opts,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    rocksdb::IOStatus s = target()->PositionedAppend(data, offset, opts, info, dbg);
    if (s.ok()) fs_->on_write(path_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& opts,
                             rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    rocksdb::IOStatus s = target()->Truncate(size, opts, dbg);
    if (s.ok()) fs_->on_truncate(path_, size);
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
    return sync(opts, dbg, /*full=*/false);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
    return sync(opts, dbg, /*full=*/true);
  }
  // RangeSync (sync_file_range) is no durability point: forwarded untracked.

 private:
  rocksdb::IOStatus sync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg, bool full) {
    fs_->before_sync(path_);
    std::shared_lock io(fs_->io_mu_);
    if (fs_->syncs_fail()) return injected_sync_error();
    // Only what was written before the sync started is covered by it.
    const uint64_t size = fs_->size_of(path_);
    rocksdb::IOStatus s = full ? target()->Fsync(opts, dbg) : target()->Sync(opts, dbg);
    if (s.ok()) fs_->on_file_sync(path_, size);
    return s;
  }

  FaultFs* fs_;
  std::string path_;
};

// A directory whose fsync makes the entries created in it durable.
class FaultDirectory final : public rocksdb::FSDirectoryWrapper {
 public:
  FaultDirectory(std::unique_ptr<rocksdb::FSDirectory> base, FaultFs* fs, std::string path)
      : FSDirectoryWrapper(std::move(base)), fs_(fs), path_(strip_slashes(std::move(path))) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override {
    std::shared_lock io(fs_->io_mu_);
    if (fs_->syncs_fail()) return injected_sync_error();
    rocksdb::IOStatus s = FSDirectoryWrapper::Fsync(opts, dbg);
    if (s.ok()) fs_->on_dir_sync(path_);
    return s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& opts,
                                        rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_opts) override {
    std::shared_lock io(fs_->io_mu_);
    if (fs_->syncs_fail()) return injected_sync_error();
    rocksdb::IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(opts, dbg, dir_opts);
    if (s.ok()) fs_->on_dir_sync(path_);
    return s;
  }

 private:
  FaultFs* fs_;
  std::string path_;
};

FaultFs::FaultFs(std::shared_ptr<rocksdb::FileSystem> base)
    : rocksdb::FileSystemWrapper(std::move(base)) {}

std::shared_ptr<rocksdb::Env> FaultFs::make_env(const std::shared_ptr<FaultFs>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

void FaultFs::freeze() { frozen_ = true; }

void FaultFs::power_cut() {
  std::lock_guard<std::mutex> lock(mu_);
  const rocksdb::IOOptions io;
  uint64_t dropped = 0;
  for (const auto& [dir, paths] : volatile_entries_) {
    for (const std::string& f : paths) {
      auto it = files_.find(f);
      if (it != files_.end()) {
        dropped += it->second.size;
        files_.erase(it);
      }
      target()->DeleteFile(f, io, nullptr).PermitUncheckedError();
    }
  }
  for (const auto& [f, st] : files_) {
    if (st.size <= st.synced) continue;
    dropped += st.size - st.synced;
    rocksdb::IOStatus s = target()->Truncate(f, st.synced, io, nullptr);
    if (!s.ok()) {
      // Not every base file system implements Truncate; the default one is
      // a POSIX disk.
      std::error_code ec;
      std::filesystem::resize_file(f, st.synced, ec);
    }
  }
  files_.clear();
  volatile_entries_.clear();
  dropped_bytes_ = dropped;
  frozen_ = false;
}

uint64_t FaultFs::crash() {
  io_mu_.lock();  // never unlocked: the process ends
  frozen_ = true;
  power_cut();
  return dropped_bytes();
}

uint64_t FaultFs::dropped_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_bytes_;
}

void FaultFs::track_new(const std::string& f) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[f] = FileState{};
  volatile_entries_[dir_of(f)].insert(f);
}

void FaultFs::on_write(const std::string& f, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& st = files_[f];
  if (end > st.size) st.size = end;
}

void FaultFs::on_truncate(const std::string& f, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& st = files_[f];
  st.size = size;
  if (st.synced > size) st.synced = size;
}

uint64_t FaultFs::size_of(const std::string& f) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(f);
  return it == files_.end() ? 0 : it->second.size;
}

void FaultFs::on_file_sync(const std::string& f, uint64_t size) {
  if (frozen_) return;
  std::lock_guard<std::mutex> lock(mu_);
  FileState& st = files_[f];
  if (size > st.synced) st.synced = size;
  ++file_syncs_;
}

void FaultFs::on_dir_sync(const std::string& dir) {
  if (frozen_) return;
  std::lock_guard<std::mutex> lock(mu_);
  volatile_entries_.erase(dir);
}

rocksdb::IOStatus FaultFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& opts,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                                           rocksdb::IODebugContext* dbg) {
  std::shared_lock io(io_mu_);
  std::unique_ptr<rocksdb::FSWritableFile> base;
  rocksdb::IOStatus s = target()->NewWritableFile(f, opts, &base, dbg);
  if (!s.ok()) return s;
  track_new(f);
  *r = std::make_unique<FaultWritableFile>(std::move(base), this, f);
  return s;
}

rocksdb::IOStatus FaultFs::ReopenWritableFile(const std::string& f,
                                              const rocksdb::FileOptions& opts,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  std::shared_lock io(io_mu_);
  const bool existed = target()->FileExists(f, rocksdb::IOOptions(), dbg).ok();
  uint64_t size = 0;
  if (existed) target()->GetFileSize(f, rocksdb::IOOptions(), &size, dbg).PermitUncheckedError();
  std::unique_ptr<rocksdb::FSWritableFile> base;
  rocksdb::IOStatus s = target()->ReopenWritableFile(f, opts, &base, dbg);
  if (!s.ok()) return s;
  if (!existed) {
    track_new(f);
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    // A file seen for the first time is taken as durable as it is.
    files_.try_emplace(f, FileState{size, size});
  }
  *r = std::make_unique<FaultWritableFile>(std::move(base), this, f);
  return s;
}

rocksdb::IOStatus FaultFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                             const rocksdb::FileOptions& opts,
                                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                                             rocksdb::IODebugContext* dbg) {
  std::shared_lock io(io_mu_);
  std::unique_ptr<rocksdb::FSWritableFile> base;
  rocksdb::IOStatus s = target()->ReuseWritableFile(f, old, opts, &base, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(old);
    for (auto& [dir, paths] : volatile_entries_) paths.erase(old);
  }
  // Reused as if new: its old content is garbage to its new owner.
  track_new(f);
  *r = std::make_unique<FaultWritableFile>(std::move(base), this, f);
  return s;
}

rocksdb::IOStatus FaultFs::NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                        std::unique_ptr<rocksdb::FSDirectory>* r,
                                        rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> base;
  rocksdb::IOStatus s = target()->NewDirectory(name, io_opts, &base, dbg);
  if (!s.ok()) return s;
  *r = std::make_unique<FaultDirectory>(std::move(base), this, name);
  return s;
}

rocksdb::IOStatus FaultFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& opts,
                                      rocksdb::IODebugContext* dbg) {
  std::shared_lock io(io_mu_);
  // With the power off, a deletion never reaches the disk.
  if (frozen_) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s = target()->DeleteFile(f, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(f);
    auto it = volatile_entries_.find(dir_of(f));
    if (it != volatile_entries_.end()) it->second.erase(f);
  }
  return s;
}

rocksdb::IOStatus FaultFs::RenameFile(const std::string& s, const std::string& t,
                                      const rocksdb::IOOptions& opts,
                                      rocksdb::IODebugContext* dbg) {
  std::shared_lock io(io_mu_);
  rocksdb::IOStatus st = target()->RenameFile(s, t, opts, dbg);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(s);
  if (it != files_.end()) {
    files_[t] = it->second;
    files_.erase(s);
  } else {
    files_.erase(t);
  }
  // A volatile name stays volatile under its new name (a renamed durable file
  // is taken as durable: RocksDB fsyncs the directory after each rename).
  auto vs = volatile_entries_.find(dir_of(s));
  if (vs != volatile_entries_.end() && vs->second.erase(s) > 0) {
    volatile_entries_[dir_of(t)].insert(t);
  }
  return st;
}

}  // namespace shoal::raft
