// Whether this agent's Raft log is one the cluster has left behind: a voter
// that autopilot replaced while it was away comes back with a log that still
// names it a member, but the leader sends it nothing, and it would sit
// outside the cluster's Raft traffic for good. (Pure: the facts come in.)
//
// The agent asks the voters it knows (FollowRequest probes) once it has
// known no leader for a while. It has been replaced when the leader itself
// answers (the responder is the leader it names), in a term at least the
// agent's own, that the configuration in force at its commit index is
// committed and does not contain the agent, and that commit index is above
// the agent's last log entry: no entry the agent holds can be one the
// cluster still needs (everything committed is on a quorum that excludes
// it), and nothing it might yet receive would make it a member again.
// Then the agent moves its `raft/` directory aside (never deletes it) and
// follows the log as an observer; autopilot may make it a voter again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/ids.h"
#include "core/time.h"
#include "raft/types.h"

namespace shoal::node {

struct LogPosition {
  NodeId self;
  uint64_t term = 0;        // the agent's current term
  uint64_t last_index = 0;  // its last log entry
};

// What a voter answered about the cluster (a probe's FollowResponse).
struct ClusterReport {
  NodeId responder;
  NodeId leader;
  uint64_t term = 0;
  uint64_t commit = 0;
  raft::ConfState conf;
  bool conf_committed = false;
};

// The reason to step out (for the log), or nullopt to stay.
std::optional<std::string> replaced_by_cluster(const LogPosition& self,
                                               const ClusterReport& report);

// When a member that knows no leader asks the voters who leads: once it
// has known none for kLeaderlessProbeAfter (a few elections' worth: an
// election in progress is no reason), then at most once per
// kLeaderlessProbeEvery.
inline constexpr Duration kLeaderlessProbeAfter = std::chrono::seconds(5);
inline constexpr Duration kLeaderlessProbeEvery = std::chrono::seconds(2);

class LeaderlessProbe {
 public:
  // On every tick: whether to probe now.
  bool due(TimePoint now, bool leader_known);

 private:
  std::optional<TimePoint> since_;
  std::optional<TimePoint> last_;
};

}  // namespace shoal::node
