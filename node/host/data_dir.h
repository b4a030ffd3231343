// The agent's data directory: creation with owner-only permissions, an
// exclusive lock so that two agents never share one (they would corrupt each
// other's Raft log and identity), and the temporary directory --dev runs on.
#pragma once

#include <filesystem>

#include "core/status.h"

namespace shoal::node {

inline constexpr const char* kLockFileName = "agent.lock";

// Creates dir (and missing parents) if needed; dir itself gets mode 0700.
// An existing directory is used as it is; a non-directory is an error.
[[nodiscard]] Status create_data_dir(const std::filesystem::path& dir);

// A fresh "shoal-dev-XXXXXX" directory (mode 0700) under $TMPDIR, or /tmp.
[[nodiscard]] Result<std::filesystem::path> make_temp_data_dir();

// Removes a directory tree; used for the --dev data dir at shutdown.
[[nodiscard]] Status remove_data_dir(const std::filesystem::path& dir);

// Holds an exclusive flock(2) on <dir>/agent.lock for its lifetime. The lock
// file records the holder's pid, which the error names when the dir is taken.
class DataDirLock {
 public:
  [[nodiscard]] static Result<DataDirLock> acquire(const std::filesystem::path& dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace shoal::node
