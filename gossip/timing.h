// The numbers behind the protocol, as small pure functions so that each one
// has a table test (tests/unit/gossip_timing_test.cc). Nothing here keeps
// state; the Gossip core calls them with its configuration and the current
// cluster size.
//
//   retransmit_limit     how many times one update is piggybacked:
//                        mult * max(1, ceil(log10(n + 1))), at least 1
//   suspicion_min        mult * max(1, log10(n)) * probe_interval
//   suspicion_max        max_mult * suspicion_min
//   suspicion_timeout    Lifeguard's dynamic timeout: starts at max and
//                        shrinks logarithmically towards min as independent
//                        confirmations arrive,
//                          max - (max - min) * log(c + 1) / log(k + 1)
//                        where c confirmations of k expected; never below
//                        min; k < 1 means min straight away
//   suspicion_expected   k = mult - 2 confirmations expected, or 0 when the
//                        cluster is too small to provide them (n - 2 < k)
//   scale_by_health      Lifeguard's local health awareness: a duration
//                        multiplied by (score + 1)
//   push_pull_interval   the push-pull period, stretched for big clusters
//                        so the cluster-wide sync load stays bounded:
//                        interval * (ceil(log2(n) - log2(32)) + 1) above 32
#pragma once

#include <cstddef>

#include "core/time.h"

namespace shoal::gossip::timing {

int retransmit_limit(int mult, size_t nodes);
Duration suspicion_min(int mult, size_t nodes, Duration probe_interval);
Duration suspicion_max(int max_mult, Duration min);
int suspicion_expected(int mult, size_t nodes);
Duration suspicion_timeout(int confirmations, int expected, Duration min, Duration max);
Duration scale_by_health(Duration d, int score);
Duration push_pull_interval(Duration base, size_t nodes);

// Lifeguard's local health score, 0 (healthy) .. max - 1. Raised when our
// probes fail without the nacks that healthy helpers would have sent, or when
// we must refute a suspicion of ourselves; lowered by every successful probe.
class Awareness {
 public:
  explicit Awareness(int max_multiplier) : max_(max_multiplier < 1 ? 1 : max_multiplier) {}
  // Adds delta, clamped to [0, max - 1]; returns the new score.
  int apply(int delta);
  int score() const { return score_; }
  // d * (score + 1).
  Duration scale(Duration d) const { return scale_by_health(d, score_); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace shoal::gossip::timing
