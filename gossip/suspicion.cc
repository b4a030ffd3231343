#include "gossip/suspicion.h"

#include <algorithm>

#include "gossip/timing.h"

namespace shoal::gossip {

Suspicion::Suspicion(TimePoint start, const NodeId& accuser, int expected, Duration min,
                     Duration max)
    : start_(start), accuser_(accuser), expected_(std::max(0, expected)), min_(min), max_(max) {}

bool Suspicion::confirm(const NodeId& from) {
  if (static_cast<int>(confirmers_.size()) >= expected_) return false;
  if (from == accuser_) return false;
  if (std::find(confirmers_.begin(), confirmers_.end(), from) != confirmers_.end()) return false;
  confirmers_.push_back(from);
  return true;
}

TimePoint Suspicion::deadline() const {
  return start_ + timing::suspicion_timeout(confirmations(), expected_, min_, max_);
}

}  // namespace shoal::gossip
