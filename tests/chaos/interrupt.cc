// The interrupt flag and interruptible sleeps.
#include "tests/chaos/interrupt.h"

#include <csignal>
#include <thread>

namespace shoal::chaos {

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted.store(true); }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A write to a socket the agent has closed must be an error, not the end
  // of the tool. Children get default dispositions back (child_process.cc).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
}

bool interrupted() { return g_interrupted.load(); }

bool sleep_until(std::chrono::steady_clock::time_point deadline) {
  constexpr auto kSlice = std::chrono::milliseconds(20);
  for (;;) {
    if (interrupted()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(kSlice, deadline - now));
  }
}

bool sleep_for(std::chrono::milliseconds d) {
  return sleep_until(std::chrono::steady_clock::now() + d);
}

}  // namespace shoal::chaos
