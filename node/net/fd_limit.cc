#include "node/net/fd_limit.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <fstream>

namespace shoal::node {
namespace {

// Below this the agent may run out of descriptors under load.
constexpr uint64_t kComfortable = 8192;

std::string describe(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

}  // namespace

FdLimit raise_fd_limit() {
  FdLimit out;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.before = rl.rlim_cur;
  out.hard = rl.rlim_max;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
      // An unlimited hard limit is still capped by fs.nr_open.
      uint64_t nr_open = 0;
      std::ifstream in("/proc/sys/fs/nr_open");
      if (in >> nr_open && nr_open > rl.rlim_cur) {
        want.rlim_cur = static_cast<rlim_t>(nr_open);
        (void)::setrlimit(RLIMIT_NOFILE, &want);
      }
    }
    (void)::getrlimit(RLIMIT_NOFILE, &rl);
  }
  out.soft = rl.rlim_cur;
  if (out.raised()) {
    spdlog::info("file descriptors: soft limit raised from {} to {} (hard limit {})",
                 describe(out.before), describe(out.soft), describe(out.hard));
  } else {
    spdlog::debug("file descriptors: soft limit {} (hard limit {})", describe(out.soft),
                  describe(out.hard));
  }
  if (out.soft < kComfortable) {
    spdlog::warn(
        "file descriptors: the limit of {} is low for an agent; raise the hard limit "
        "(LimitNOFILE= in the systemd unit, or ulimit -Hn)",
        out.soft);
  }
  return out;
}

}  // namespace shoal::node
