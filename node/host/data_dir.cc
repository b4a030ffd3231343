#include "node/host/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

namespace shoal::node {
namespace {

Status errno_status(std::string_view what, const std::filesystem::path& path) {
  const std::error_code err(errno, std::generic_category());
  return Status::io_error(std::string(what) + " " + path.string() + ": " + err.message());
}

}  // namespace

Status create_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::ok();
  if (std::filesystem::exists(dir, ec)) {
    return Status::io_error("data dir " + dir.string() + " exists and is not a directory");
  }
  const auto parent = dir.parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::io_error("cannot create data dir " + dir.string() + ": " + ec.message());
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_status("cannot create data dir", dir);
  }
  return Status::ok();
}

Result<std::filesystem::path> make_temp_data_dir() {
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): no setenv here
  std::filesystem::path base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  std::string templ = (base / "shoal-dev-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  // mkdtemp creates the directory with mode 0700.
  if (::mkdtemp(buf.data()) == nullptr) {
    return errno_status("cannot create a temporary data dir under", base);
  }
  return std::filesystem::path(buf.data());
}

Status remove_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::io_error("cannot remove " + dir.string() + ": " + ec.message());
  return Status::ok();
}

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& dir) {
  const auto path = dir / kLockFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("cannot open lock file", path);
  DataDirLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_status("cannot lock", path);
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::unavailable("data dir " + dir.string() + " is in use by another agent" +
                               (holder.empty() ? std::string() : " (pid " + holder + ")"));
  }
  // Best effort: the pid only makes the error above friendlier.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return lock;
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  // Closing the descriptor releases the flock.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace shoal::node
