#include "gossip/timing.h"

#include <algorithm>
#include <cmath>

namespace shoal::gossip::timing {

int retransmit_limit(int mult, size_t nodes) {
  // ceil(log10(n + 1)): 1 for 1..9 nodes, 2 for 10..99, 3 for 100..999, ...
  // Enough copies that an epidemic reaches everyone with high probability,
  // few enough that one update does not hog the packets.
  const double scale = std::max(1.0, std::ceil(std::log10(static_cast<double>(nodes) + 1.0)));
  return std::max(1, mult * static_cast<int>(scale));
}

Duration suspicion_min(int mult, size_t nodes, Duration probe_interval) {
  // The log10 factor grows the timeout slowly with the cluster: a rumour
  // needs O(log n) gossip rounds to reach everyone, including the suspect
  // that must refute it. Below 10 nodes the factor stays 1.
  const double scale = std::max(1.0, std::log10(std::max<double>(1.0, static_cast<double>(nodes))));
  // Whole milliseconds: the table tests stay exact and the value is stable
  // across platforms' last-bit differences in log10.
  const double ms = static_cast<double>(mult) * scale *
                    std::chrono::duration<double, std::milli>(probe_interval).count();
  return std::chrono::milliseconds(static_cast<int64_t>(std::floor(ms)));
}

Duration suspicion_max(int max_mult, Duration min) { return min * std::max(1, max_mult); }

int suspicion_expected(int mult, size_t nodes) {
  const int k = mult - 2;
  // A cluster with fewer than k other members besides the suspect and
  // ourselves cannot produce k independent confirmations; waiting for them
  // would only hold the timeout at max.
  if (static_cast<int64_t>(nodes) - 2 < k) return 0;
  return std::max(0, k);
}

Duration suspicion_timeout(int confirmations, int expected, Duration min, Duration max) {
  if (expected < 1 || max <= min) return min;
  const int c = std::clamp(confirmations, 0, expected);
  // Logarithmic shrinking: the first confirmations buy the most, since they
  // are the strongest evidence that the suspicion is not one node's local
  // trouble.
  const double frac =
      std::log(static_cast<double>(c) + 1.0) / std::log(static_cast<double>(expected) + 1.0);
  const double max_ms = std::chrono::duration<double, std::milli>(max).count();
  const double min_ms = std::chrono::duration<double, std::milli>(min).count();
  const double raw = max_ms - frac * (max_ms - min_ms);
  const Duration t = std::chrono::milliseconds(static_cast<int64_t>(std::floor(raw)));
  return std::max(t, min);
}

Duration scale_by_health(Duration d, int score) { return d * (std::max(0, score) + 1); }

Duration push_pull_interval(Duration base, size_t nodes) {
  constexpr double kThreshold = 32;
  if (static_cast<double>(nodes) <= kThreshold) return base;
  const double mult =
      std::ceil(std::log2(static_cast<double>(nodes)) - std::log2(kThreshold)) + 1.0;
  return base * static_cast<int64_t>(mult);
}

int Awareness::apply(int delta) {
  score_ = std::clamp(score_ + delta, 0, max_ - 1);
  return score_;
}

}  // namespace shoal::gossip::timing
