// AutopilotLoop: when the leader runs autopilot (node/cluster/autopilot.h) and what
// it feeds it (pure: the time, the leader's Raft status and gossip's view of
// the members come in; the one membership change to propose goes out).
//
// The leader looks once per kAutopilotEvery, never while a change it
// proposed is unanswered. Each look builds the members autopilot_next()
// decides on: every member gossip knows of this cluster (alive, zone,
// --voter never) joined with Raft's progress for those in the
// configuration, plus the configuration's members that gossip has forgotten
// (counted as dead; one gossip shows in another cluster is left out
// altogether). "Caught up for" is measured here: how long a member's
// match has stayed within kCaughtUpSlack of the leader's last index.
//
// The agent (node/cluster/agent_cluster.cc) and the multi-agent simulation
// (tests/sim/cluster_harness.h) drive this same class.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "core/ids.h"
#include "core/time.h"
#include "node/cluster/autopilot.h"
#include "node/consensus/raft_host.h"

namespace shoal::node {

inline constexpr Duration kAutopilotEvery = std::chrono::seconds(1);
// How far behind the leader's log a learner may be to count as caught up.
inline constexpr uint64_t kCaughtUpSlack = 64;

// A member as gossip shows it to the leader.
struct AutopilotPeer {
  NodeId id;
  bool alive = false;
  bool may_vote = true;
  std::string zone;
  std::string cluster_id;  // "" while it knows none
};

class AutopilotLoop {
 public:
  // With the leader's fresh status: the change to propose now, if any
  // (then the caller proposes it and calls done() when it is answered).
  // `peers` includes this agent. Members of another cluster are left out.
  std::optional<AutopilotDecision> step(TimePoint now, const AutopilotConfig& cfg,
                                        const NodeId& self, const std::string& cluster_id,
                                        const RaftStatus& st, std::span<const AutopilotPeer> peers);
  // The proposed change was answered (or leadership moved): the next look
  // may propose again.
  void done() { inflight_ = false; }
  bool inflight() const { return inflight_; }

 private:
  TimePoint last_{};
  bool looked_ = false;
  bool inflight_ = false;
  std::map<NodeId, TimePoint> caught_up_since_;
};

}  // namespace shoal::node
