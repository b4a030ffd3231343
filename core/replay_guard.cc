#include "core/replay_guard.h"

#include <limits>

namespace shoal {

ReplayGuard::ReplayGuard(size_t max_senders) : max_senders_(max_senders > 0 ? max_senders : 1) {}

Status ReplayGuard::check(const NodeId& sender, uint64_t epoch, uint64_t counter) const {
  auto it = windows_.find(sender);
  if (it == windows_.end()) return Status::ok();
  const Window& w = it->second;
  if (epoch < w.epoch) {
    return Status::replay("boot epoch " + std::to_string(epoch) + " is older than " +
                          std::to_string(w.epoch));
  }
  if (epoch > w.epoch || counter > w.highest) return Status::ok();
  if (w.highest - counter >= kWindow) return Status::replay("counter below the replay window");
  if (w.seen.test(counter % kWindow)) return Status::replay("repeated packet counter");
  return Status::ok();
}

void ReplayGuard::accept(const NodeId& sender, uint64_t epoch, uint64_t counter) {
  auto it = windows_.find(sender);
  if (it == windows_.end()) {
    if (windows_.size() >= max_senders_) evict_one();
    it = windows_.emplace(sender, Window{}).first;
    it->second.epoch = epoch;
    it->second.highest = counter;
    it->second.seen.set(counter % kWindow);
    it->second.last_use = ++use_clock_;
    return;
  }
  Window& w = it->second;
  w.last_use = ++use_clock_;
  if (epoch > w.epoch) {
    w.epoch = epoch;
    w.highest = counter;
    w.seen.reset();
    w.seen.set(counter % kWindow);
    return;
  }
  SHOAL_CHECK_MSG(epoch == w.epoch, "accept() without a passing check()");
  if (counter > w.highest) {
    const uint64_t advance = counter - w.highest;
    if (advance >= kWindow) {
      w.seen.reset();
    } else {
      // Forget the slots that now belong to counters highest+1 .. counter.
      for (uint64_t c = w.highest + 1; c <= counter; ++c) w.seen.reset(c % kWindow);
    }
    w.highest = counter;
  }
  w.seen.set(counter % kWindow);
}

void ReplayGuard::evict_one() {
  auto victim = windows_.begin();
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  for (auto it = windows_.begin(); it != windows_.end(); ++it) {
    if (it->second.last_use < oldest) {
      oldest = it->second.last_use;
      victim = it;
    }
  }
  if (victim != windows_.end()) windows_.erase(victim);
}

}  // namespace shoal
