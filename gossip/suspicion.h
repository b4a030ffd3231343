// Suspicion: one member's suspicion timer with Lifeguard's confirmations.
//
// Started when a member is first suspected. Its deadline is
//   start + suspicion_timeout(confirmations, expected, min, max)
// and moves earlier each time a member other than the ones already counted
// independently reports the same suspicion. With `expected` == 0 (plain SWIM,
// or a cluster too small for confirmations) the deadline is start + min.
#pragma once

#include <vector>

#include "core/ids.h"
#include "core/time.h"

namespace shoal::gossip {

class Suspicion {
 public:
  Suspicion(TimePoint start, const NodeId& accuser, int expected, Duration min, Duration max);

  // Counts an independent confirmation from `from`; returns true when it is
  // new (the first accuser and repeats do not count, nor anything beyond
  // `expected`), i.e. when the news is worth re-gossiping.
  bool confirm(const NodeId& from);

  TimePoint deadline() const;
  int confirmations() const { return static_cast<int>(confirmers_.size()); }
  int expected() const { return expected_; }
  TimePoint start() const { return start_; }

 private:
  TimePoint start_;
  NodeId accuser_;
  int expected_;
  Duration min_;
  Duration max_;
  std::vector<NodeId> confirmers_;  // at most expected_
};

}  // namespace shoal::gossip
