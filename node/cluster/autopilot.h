// Autopilot: which single Raft membership change the leader makes next to
// keep --voters voters (DESIGN.md §2). A pure decision over what the leader
// knows (its configuration and Raft progress) and what gossip says (alive,
// zone, --voter never); the leader runs it periodically and proposes the
// change it returns, one at a time.
//
//   1. an observer (a member outside the configuration) that is alive and
//      may vote joins as a learner when voters are missing, preferring a
//      zone no healthy voter covers, then the lowest id;
//   2. a learner is promoted once it has been caught up and alive for
//      `stable_for` (10 s);
//   3. only then (voters above the target) is a voter removed: first one
//      that gossip says is dead and Raft has not heard from for
//      `dead_voter_grace` (2 min), else (target lowered) a healthy one from
//      the most crowded zone; never the leader itself;
//   4. a learner that is dead beyond the grace is removed.
// Even targets are refused at configuration time (agent_config); here N is
// taken as given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "raft/types.h"

namespace shoal::node {

struct AutopilotMember {
  NodeId id;
  bool alive = false;    // gossip: alive (not suspect, dead or left)
  bool may_vote = true;  // false for --voter never
  std::string zone;      // the `zone` attribute, "" if none
  // Raft, from the leader's progress (members in the configuration only):
  uint64_t match = 0;                         // highest index known replicated
  std::chrono::nanoseconds since_heard{0};    // since the leader last heard from it
  std::chrono::nanoseconds caught_up_for{0};  // how long match has been within reach of the log end
};

struct AutopilotConfig {
  size_t voters = 3;
  std::chrono::nanoseconds stable_for = std::chrono::seconds(10);
  std::chrono::nanoseconds dead_voter_grace = std::chrono::minutes(2);
};

struct AutopilotDecision {
  std::optional<raft::ConfChange> change;
  std::string reason;  // for logs: what it does and why, or why nothing
};

// `leader`: this node. `conf`: the current configuration. `change_pending`:
// an earlier change is not committed yet (then nothing happens). `members`:
// every node gossip knows, in and out of the configuration.
AutopilotDecision autopilot_next(const AutopilotConfig& cfg, const NodeId& leader,
                                 const raft::ConfState& conf, bool change_pending,
                                 const std::vector<AutopilotMember>& members);

}  // namespace shoal::node
