#include "node/host/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace shoal::node {
namespace {

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }
  // Closes now and reports the error that close() may carry (NFS, quotas).
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status errno_status(std::string_view what, const std::filesystem::path& path) {
  const std::error_code err(errno, std::generic_category());
  return Status::io_error(std::string(what) + " " + path.string() + ": " + err.message());
}

Status fsync_dir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return errno_status("cannot fsync directory", dir);
  return Status::ok();
}

}  // namespace

Result<std::optional<std::string>> read_small_file(const std::filesystem::path& path,
                                                   size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return errno_status("cannot open", path);
  }
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("cannot read", path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes) {
      return Status::too_large(path.string() + " is larger than " + std::to_string(max_bytes) +
                               " bytes");
    }
  }
  return std::optional<std::string>(std::move(data));
}

namespace {

Status write_and_sync(const std::filesystem::path& tmp, std::string_view contents, mode_t mode) {
  // A stale temporary file from a crash is replaced, so the mode is ours.
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return errno_status("cannot create", tmp);
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("cannot write", tmp);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return errno_status("cannot fsync", tmp);
  if (fd.close() != 0) return errno_status("cannot close", tmp);
  return Status::ok();
}

}  // namespace

Status write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                         mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  if (Status st = write_and_sync(tmp, contents, mode); !st.is_ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = errno_status("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return st;
  }
  auto parent = path.parent_path();
  return fsync_dir(parent.empty() ? std::filesystem::path(".") : parent);
}

}  // namespace shoal::node
