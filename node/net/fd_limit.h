// The agent's file descriptor limit. Every connection, RocksDB file and
// listening socket is a descriptor; the usual soft limit (1024) is easily
// reached by a busy agent, and RocksDB aborts when it cannot open a file. So
// the agent raises its soft RLIMIT_NOFILE to the hard limit at start.
#pragma once

#include <cstdint>

namespace shoal::node {

struct FdLimit {
  uint64_t before = 0;  // the soft limit found at start
  uint64_t soft = 0;    // the soft limit now
  uint64_t hard = 0;
  bool raised() const { return soft > before; }
};

// Raises the soft RLIMIT_NOFILE as far as the hard limit (and the kernel's
// fs.nr_open) allow; logs what it got, and warns when it stays low.
FdLimit raise_fd_limit();

}  // namespace shoal::node
