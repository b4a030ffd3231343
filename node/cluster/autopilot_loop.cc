// AutopilotLoop: see autopilot_loop.h.
#include "node/cluster/autopilot_loop.h"

#include <vector>

namespace shoal::node {

std::optional<AutopilotDecision> AutopilotLoop::step(TimePoint now, const AutopilotConfig& cfg,
                                                     const NodeId& self,
                                                     const std::string& cluster_id,
                                                     const RaftStatus& st,
                                                     std::span<const AutopilotPeer> peers) {
  if (inflight_ || (looked_ && now - last_ < kAutopilotEvery)) return std::nullopt;
  looked_ = true;
  last_ = now;
  std::vector<AutopilotMember> members;
  std::map<NodeId, const RaftPeerStatus*> progress;
  for (const RaftPeerStatus& p : st.peers) progress[p.id] = &p;
  std::map<NodeId, bool> seen;
  for (const AutopilotPeer& p : peers) {
    // Known to gossip at all: a member of the configuration is not added
    // below as one gossip forgot.
    seen[p.id] = true;
    if (!p.cluster_id.empty() && p.cluster_id != cluster_id) continue;
    AutopilotMember m;
    m.id = p.id;
    m.alive = p.alive;
    m.may_vote = p.may_vote;
    m.zone = p.zone;
    if (p.id == self) {
      m.alive = true;
      m.match = st.last_index;
    } else if (auto it = progress.find(p.id); it != progress.end()) {
      m.match = it->second->match;
      m.since_heard = it->second->since_heard;
      if (m.match + kCaughtUpSlack >= st.last_index) {
        auto [since, fresh] = caught_up_since_.try_emplace(p.id, now);
        m.caught_up_for = now - since->second;
      } else {
        caught_up_since_.erase(p.id);
      }
    }
    members.push_back(std::move(m));
  }
  // Members in the configuration that gossip has forgotten still count.
  for (const RaftPeerStatus& p : st.peers) {
    if (seen.contains(p.id)) continue;
    AutopilotMember m;
    m.id = p.id;
    m.alive = false;
    m.match = p.match;
    m.since_heard = p.since_heard;
    members.push_back(std::move(m));
  }
  AutopilotDecision d = autopilot_next(cfg, self, st.conf, st.conf_change_pending, members);
  if (!d.change) return std::nullopt;
  inflight_ = true;
  return d;
}

}  // namespace shoal::node
