// The chaos run's one monotonic clock: nanoseconds of std::chrono::steady_clock
// since the run started. Every time in history.jsonl and nemesis.log is on it,
// so operations and faults can be compared directly.
#pragma once

#include <chrono>
#include <cstdint>

namespace shoal::chaos {

class RunClock {
 public:
  RunClock() : start_(std::chrono::steady_clock::now()) {}
  int64_t now_ns() const { return to_ns(std::chrono::steady_clock::now()); }
  int64_t to_ns(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

inline constexpr int64_t kNsPerSecond = 1'000'000'000;
inline constexpr int64_t kNsPerMilli = 1'000'000;

}  // namespace shoal::chaos
