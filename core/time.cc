#include "core/time.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace shoal {

SteadyClock::SteadyClock() : origin_(std::chrono::steady_clock::now()) {}

TimePoint SteadyClock::now() const {
  // Start at 1 s so that the zero TimePoint can mean "never" in callers.
  return TimePoint(
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - origin_) +
      std::chrono::seconds(1));
}

namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {
    {"ms", 1'000'000},        {"us", 1'000},         {"µs", 1'000},       {"ns", 1},
    {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000}};

// value * unit nanoseconds, where value is "int_digits.frac_digits" (either
// may be empty, not both); nullopt when it does not fit in int64. No
// exceptions: every input a client can send ends in a Status.
std::optional<int64_t> scale(std::string_view int_digits, std::string_view frac_digits,
                             int64_t unit) {
  uint64_t whole = 0;
  if (!int_digits.empty()) {
    auto [end, ec] =
        std::from_chars(int_digits.data(), int_digits.data() + int_digits.size(), whole);
    if (ec != std::errc() || end != int_digits.data() + int_digits.size()) return std::nullopt;
  }
  int64_t nanos = 0;
  if (whole > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_mul_overflow(static_cast<int64_t>(whole), unit, &nanos)) {
    return std::nullopt;
  }
  // Digits past the 18th change the result by far less than a nanosecond.
  long double fraction = 0;
  long double denominator = 1;
  for (char c : frac_digits.substr(0, 18)) {
    fraction = fraction * 10 + (c - '0');
    denominator *= 10;
  }
  const auto part =
      static_cast<int64_t>(std::llround(fraction / denominator * static_cast<long double>(unit)));
  if (__builtin_add_overflow(nanos, part, &nanos)) return std::nullopt;
  return nanos;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return Status::invalid_argument("empty duration");
  if (text == "0") return Duration::zero();
  if (text.front() == '-') return Status::invalid_argument("negative duration " + quoted);
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t int_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    const std::string_view int_digits = text.substr(int_start, i - int_start);
    std::string_view frac_digits;
    bool point = false;
    if (i < text.size() && text[i] == '.') {
      point = true;
      const size_t frac_start = ++i;
      while (i < text.size() && is_digit(text[i])) ++i;
      frac_digits = text.substr(frac_start, i - frac_start);
    }
    if (int_digits.empty() && frac_digits.empty()) {
      return Status::invalid_argument(
          "bad duration " + quoted +
          (point ? ": a number needs a digit" : ": expected a number such as 500ms, 5s, 2m, 1h"));
    }
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
    const std::optional<int64_t> nanos = scale(int_digits, frac_digits, unit->nanos);
    if (!nanos || __builtin_add_overflow(total, *nanos, &total)) {
      return Status::invalid_argument("duration " + quoted + " is too long");
    }
  }
  return Duration(total);
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
