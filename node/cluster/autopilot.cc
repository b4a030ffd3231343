#include "node/cluster/autopilot.h"

#include <algorithm>
#include <map>

namespace shoal::node {

namespace {

using raft::ConfChange;

const AutopilotMember* find(const std::vector<AutopilotMember>& ms, const NodeId& id) {
  for (const AutopilotMember& m : ms) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

}  // namespace

AutopilotDecision autopilot_next(const AutopilotConfig& cfg, const NodeId& leader,
                                 const raft::ConfState& conf, bool change_pending,
                                 const std::vector<AutopilotMember>& members) {
  AutopilotDecision d;
  if (change_pending) {
    d.reason = "an earlier change is not committed yet";
    return d;
  }
  auto dead_beyond_grace = [&](const NodeId& id) {
    const AutopilotMember* m = find(members, id);
    // Unknown to gossip counts as dead; Raft silence must confirm it.
    return (m == nullptr || !m->alive) &&
           (m == nullptr || m->since_heard >= cfg.dead_voter_grace) && id != leader;
  };
  std::vector<NodeId> healthy_voters;
  std::vector<NodeId> dead_voters;
  for (const NodeId& v : conf.voters) {
    (dead_beyond_grace(v) ? dead_voters : healthy_voters).push_back(v);
  }

  // 2. Promote a learner that has been caught up and alive long enough.
  if (healthy_voters.size() < cfg.voters || !dead_voters.empty()) {
    for (const NodeId& l : conf.learners) {
      const AutopilotMember* m = find(members, l);
      if (m != nullptr && m->alive && m->may_vote && m->caught_up_for >= cfg.stable_for) {
        d.change = ConfChange{ConfChange::Kind::kPromoteLearner, l};
        d.reason = "promote learner " + l.short_string() + ": caught up and healthy";
        return d;
      }
    }
  }
  // 3. Too many voters: remove a dead one first, else trim the most crowded zone.
  if (conf.voters.size() > cfg.voters) {
    if (!dead_voters.empty()) {
      d.change = ConfChange{ConfChange::Kind::kRemove, dead_voters.front()};
      d.reason = "remove voter " + dead_voters.front().short_string() +
                 ": dead in gossip and silent beyond the grace, replaced";
      return d;
    }
    std::map<std::string, size_t> per_zone;
    for (const NodeId& v : conf.voters) {
      const AutopilotMember* m = find(members, v);
      ++per_zone[m ? m->zone : ""];
    }
    std::optional<NodeId> pick;
    size_t crowd = 0;
    for (auto it = conf.voters.rbegin(); it != conf.voters.rend(); ++it) {
      if (*it == leader) continue;
      const AutopilotMember* m = find(members, *it);
      const size_t c = per_zone[m ? m->zone : ""];
      if (!pick || c > crowd) {
        pick = *it;
        crowd = c;
      }
    }
    if (pick) {
      d.change = ConfChange{ConfChange::Kind::kRemove, *pick};
      d.reason = "remove voter " + pick->short_string() + ": more voters than the target";
      return d;
    }
  }
  // 4. A dead learner goes.
  for (const NodeId& l : conf.learners) {
    if (dead_beyond_grace(l)) {
      d.change = ConfChange{ConfChange::Kind::kRemove, l};
      d.reason = "remove learner " + l.short_string() + ": dead beyond the grace";
      return d;
    }
  }
  // 1. Voters missing (or dead, awaiting replacement) and no learner on its
  // way: bring in an observer.
  const bool need = healthy_voters.size() < cfg.voters;
  bool learner_on_its_way = false;
  for (const NodeId& l : conf.learners) {
    const AutopilotMember* m = find(members, l);
    if (m != nullptr && m->alive && m->may_vote) learner_on_its_way = true;
  }
  if (need && !learner_on_its_way) {
    std::map<std::string, size_t> covered;
    for (const NodeId& v : healthy_voters) {
      const AutopilotMember* m = find(members, v);
      ++covered[m ? m->zone : ""];
    }
    const AutopilotMember* best = nullptr;
    for (const AutopilotMember& m : members) {
      if (!m.alive || !m.may_vote || conf.contains(m.id)) continue;
      const bool new_zone = covered.find(m.zone) == covered.end();
      const bool best_new_zone = best != nullptr && covered.find(best->zone) == covered.end();
      if (best == nullptr || (new_zone && !best_new_zone) ||
          (new_zone == best_new_zone && m.id < best->id)) {
        best = &m;
      }
    }
    if (best != nullptr) {
      d.change = ConfChange{ConfChange::Kind::kAddLearner, best->id};
      d.reason = "add learner " + best->id.short_string() + ": " +
                 std::to_string(healthy_voters.size()) + " healthy voters of " +
                 std::to_string(cfg.voters);
      return d;
    }
    d.reason = "voters missing but no eligible observer is alive";
    return d;
  }
  d.reason =
      learner_on_its_way ? "waiting for a learner to catch up" : "configuration is as wanted";
  return d;
}

}  // namespace shoal::node
