#include "core/time.h"

#include <cmath>
#include <limits>

namespace shoal {

SteadyClock::SteadyClock() : origin_(std::chrono::steady_clock::now()) {}

TimePoint SteadyClock::now() const {
  // Start at 1 s so that the zero TimePoint can mean "never" in callers.
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() -
                                                        origin_) +
                   std::chrono::seconds(1));
}

namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {{"ms", 1'000'000}, {"us", 1'000}, {"µs", 1'000}, {"ns", 1},
                           {"h", 3'600'000'000'000}, {"m", 60'000'000'000},
                           {"s", 1'000'000'000}};

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return Status::invalid_argument("empty duration");
  if (text == "0") return Duration::zero();
  if (text.front() == '-') return Status::invalid_argument("negative duration " + quoted);
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) {
      return Status::invalid_argument("bad duration " + quoted +
                                      ": expected a number such as 500ms, 5s, 2m, 1h");
    }
    std::string_view num = text.substr(start, i - start);
    if (num.find('.') != num.rfind('.')) return Status::invalid_argument("bad duration " + quoted);
    long double value = std::stold(std::string(num));
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return Status::invalid_argument("bad duration " + quoted +
                                      ": missing or unknown unit (use h, m, s, ms, us, ns)");
    }
    i += unit->name.size();
    total += value * static_cast<long double>(unit->nanos);
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      return Status::invalid_argument("duration " + quoted + " is too long");
    }
  }
  return Duration(static_cast<int64_t>(std::llround(total)));
}

std::string format_duration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  constexpr int64_t kUs = 1'000, kMs = 1'000'000, kS = 1'000'000'000;
  constexpr int64_t kM = 60 * kS, kH = 60 * kM;
  if (ns < kS) {
    // Sub-second: the largest unit that keeps it a whole number, else a decimal.
    auto fmt = [&](int64_t unit, const char* name) {
      if (ns % unit == 0) return std::to_string(ns / unit) + name;
      std::string frac = std::to_string(ns % unit + unit).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      return std::to_string(ns / unit) + "." + frac + name;
    };
    if (ns >= kMs) return out + fmt(kMs, "ms");
    if (ns >= kUs) return out + fmt(kUs, "us");
    return out + std::to_string(ns) + "ns";
  }
  if (ns >= kH) {
    out += std::to_string(ns / kH) + "h";
    ns %= kH;
  }
  if (ns >= kM) {
    out += std::to_string(ns / kM) + "m";
    ns %= kM;
  }
  if (ns > 0) {
    out += std::to_string(ns / kS);
    int64_t rem = ns % kS;
    if (rem != 0) {
      std::string frac = std::to_string(rem + kS).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

}  // namespace shoal
