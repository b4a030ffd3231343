// Runs out of file descriptors on purpose, for tests of what a server does
// when accept() fails with EMFILE: lowers this process's soft RLIMIT_NOFILE to
// just above the highest descriptor in use and fills every free slot below it
// with /dev/null, so that the next descriptor the process asks for is
// refused. The destructor closes the fillers and restores the limit. Tests
// that use it must not open files meanwhile (gtest's output goes to fds that
// are already open).
//
// Not under the sanitizers: UBSan's vptr check probes memory through a pipe,
// which cannot be made while every descriptor is taken, so the first check
// of a type during the exhaustion (asio's timer queue, spdlog's logger)
// reports a false "invalid vptr". Tests skip there (kUsable is false) and
// run in the plain build.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

namespace shoal::testing {

class FdExhaustion {
 public:
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kUsable = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  static constexpr bool kUsable = false;
#else
  static constexpr bool kUsable = true;
#endif
#else
  static constexpr bool kUsable = true;
#endif

  FdExhaustion() {
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
  }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
  bool ok_ = false;
};

}  // namespace shoal::testing
