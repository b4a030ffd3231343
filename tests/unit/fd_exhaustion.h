// Runs out of file descriptors on purpose, for tests of what a server does
// when accept() fails with EMFILE: lowers this process's soft RLIMIT_NOFILE to
// just above the highest descriptor in use and fills every free slot below it
// with /dev/null, so that the next descriptor the process asks for is
// refused. The destructor closes the fillers and restores the limit. Tests
// that use it must not open files meanwhile (gtest's output goes to fds that
// are already open).
//
// Logging is off meanwhile, and the logger is called once before the
// descriptors run out: UBSan's vptr check probes memory through a pipe, which
// cannot be made without descriptors, so a first check of the logger's type
// during the exhaustion would report a false "invalid vptr" when the server
// logs its accept error. A check made beforehand is cached.
#pragma once

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

namespace shoal::testing {

class FdExhaustion {
 public:
  FdExhaustion() : saved_level_(spdlog::get_level()) {
    spdlog::set_level(spdlog::level::off);
    spdlog::warn("{}", "not logged: warms UBSan's type cache for spdlog::logger");
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 2;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
      const int fd = std::stoi(e.path().filename().string());
      if (fd > highest) highest = fd;
    }
    // The iterator's own descriptor was counted too: harmless.
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(highest + 1);
    ok_ = ::setrlimit(RLIMIT_NOFILE, &low) == 0;
    while (ok_) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        ok_ = errno == EMFILE;
        break;
      }
      fillers_.push_back(fd);
    }
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;
  ~FdExhaustion() { release(); }

  // True when the process is now out of descriptors.
  bool ok() const { return ok_; }

  void release() {
    for (int fd : fillers_) ::close(fd);
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
    spdlog::set_level(saved_level_);
  }

 private:
  spdlog::level::level_enum saved_level_;
  rlimit saved_{};
  std::vector<int> fillers_;
  bool ok_ = false;
};

}  // namespace shoal::testing
