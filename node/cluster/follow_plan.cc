// FollowPlan: see follow_plan.h.
#include "node/cluster/follow_plan.h"

#include <algorithm>

namespace shoal::node {

bool FollowPlan::avoided(const NodeId& id, TimePoint now) const {
  auto it = avoid_until_.find(id);
  return it != avoid_until_.end() && now < it->second;
}

void FollowPlan::give_up(const NodeId& peer, TimePoint now) {
  avoid_until_[peer] = now + options_.avoid;
  if (peer == source_) {
    source_ = NodeId();
    inflight_.reset();
    next_at_ = now;
    probe_wanted_ = true;
    ++failovers_;
  }
}

void FollowPlan::failed(const NodeId& peer, TimePoint now) {
  if (peer.is_zero()) return;
  give_up(peer, now);
}

bool FollowPlan::take_probe_wanted() {
  const bool wanted = probe_wanted_;
  probe_wanted_ = false;
  return wanted;
}

std::optional<FollowPlan::Request> FollowPlan::next(TimePoint now, std::span<const NodeId> voters,
                                                    const NodeId& self) {
  if (inflight_) {
    // Held requests are answered within `wait`; silence beyond that (plus
    // the trip) means the source is paused, cut off or gone.
    if (now - inflight_->sent < options_.wait + options_.slack) return std::nullopt;
    give_up(source_, now);
  }
  if (now < next_at_) return std::nullopt;
  // Forget avoidance that has run out (the map stays as small as the
  // cluster's voter count).
  std::erase_if(avoid_until_, [&](const auto& kv) { return now >= kv.second; });
  const bool keep = !source_.is_zero() &&
                    std::find(voters.begin(), voters.end(), source_) != voters.end() &&
                    !avoided(source_, now);
  if (!keep) {
    source_ = NodeId();
    if (voters.empty()) return std::nullopt;
    // Observers start at different voters, so that a fleet of them does not
    // pile onto the first one.
    const size_t start = static_cast<size_t>((self.hi() ^ self.lo()) % voters.size());
    for (size_t k = 0; k < voters.size() && source_.is_zero(); ++k) {
      const NodeId& v = voters[(start + k) % voters.size()];
      if (v != self && !avoided(v, now)) source_ = v;
    }
    if (source_.is_zero()) {
      // Every voter failed lately: try the one whose avoidance ends first
      // rather than none.
      TimePoint best = TimePoint::max();
      for (const NodeId& v : voters) {
        auto it = avoid_until_.find(v);
        if (v != self && it != avoid_until_.end() && it->second < best) {
          best = it->second;
          source_ = v;
        }
      }
    }
    if (source_.is_zero()) return std::nullopt;
  }
  inflight_ = Inflight{++next_id_, now};
  return Request{inflight_->id, source_, options_.wait};
}

FollowPlan::Answer FollowPlan::answered(uint64_t id, TimePoint now, bool news, bool error,
                                        bool behind) {
  if (!inflight_ || inflight_->id != id) return Answer::kIgnored;
  const TimePoint sent = inflight_->sent;
  inflight_.reset();
  if (error) {
    avoid_until_[source_] = now + options_.avoid;
    source_ = NodeId();
    next_at_ = now + options_.retry;
    return Answer::kAccepted;
  }
  if (behind) {
    // Partitioned away from the leader: its log stops where it was cut off.
    give_up(source_, now);
    return Answer::kAccepted;
  }
  // Held for a good part of `wait`: nothing happened meanwhile, ask again at
  // once. Answered at once with nothing: the voter did not hold it.
  const bool held = now - sent >= options_.wait / 2;
  next_at_ = news || held ? now : now + options_.idle_gap;
  return Answer::kAccepted;
}

}  // namespace shoal::node
