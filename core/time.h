// Time as values. Protocol cores never read a clock: the host passes a
// TimePoint in. A TimePoint is nanoseconds on a monotonic timeline whose
// origin is arbitrary (process start for real agents, 0 for simulations).
//
// Durations are written as strings such as "500ms", "5s", "2m", "1h" in YAML,
// JSON, flags and API output (DESIGN.md §4); parse_duration/format_duration
// are the only converters.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal {

using Duration = std::chrono::nanoseconds;

// Tag clock for TimePoint; it has no now(): read time through a Clock.
struct MonoTag {
  using duration = Duration;
  using rep = Duration::rep;
  using period = Duration::period;
  using time_point = std::chrono::time_point<MonoTag, Duration>;
  static constexpr bool is_steady = true;
};
using TimePoint = MonoTag::time_point;

using std::chrono_literals::operator""ns;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;
using std::chrono_literals::operator""min;
using std::chrono_literals::operator""h;

inline constexpr TimePoint time_at(Duration since_origin) { return TimePoint(since_origin); }
inline constexpr int64_t to_nanos(TimePoint t) { return t.time_since_epoch().count(); }
inline constexpr double to_seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }

// A source of TimePoints. Hosts own one; cores only see the values.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// std::chrono::steady_clock, re-based so the agent's origin is its start.
class SteadyClock final : public Clock {
 public:
  SteadyClock();
  TimePoint now() const override;

 private:
  std::chrono::steady_clock::time_point origin_;
};

// A clock that moves only when told to (tests, simulation).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

// Parses "1h30m", "500ms", "2.5s", "250us", "10ns" (units h, m, s, ms, us, ns;
// a bare "0" is zero). Negative durations and unknown units are errors.
Result<Duration> parse_duration(std::string_view text);
// The shortest exact form: 1500ms -> "1.5s", 90s -> "1m30s", 0 -> "0s".
std::string format_duration(Duration d);

}  // namespace shoal
