// FollowClient: an observer's side of the followed log (pure: the time, the
// voters it may ask and the answers come in; requests to send, entries to
// apply and a snapshot image to restore go out; no sockets, no clock).
//
// An observer keeps no Raft log. It asks one voter at a time for the
// committed entries after its applied index (a long poll, node/cluster/cluster_rpc.h
// FollowRequest), and which voter, and when to give it up, is its FollowPlan
// (node/cluster/follow_plan.h). Besides that one request it sends probes
// (max_bytes 0) to the other voters when the plan gives a source up, or when
// the connection to the leader it forwards to breaks: the first voter to
// report a newer term or a leader where none was known wins, so a new leader
// is learnt within a network trip of a voter learning it, not after gossip
// declares the old one dead.
//
// What the observer knows of the cluster (leader, term, configuration, the
// source's commit index, the cluster id) lives here: the agent copies it out
// after each answer that changed it (Outcome::learned). Snapshot chunks are
// assembled here too; the whole image comes out once complete.
//
// Members of the configuration (voters, learners) use the probe ids only:
// a member with no leader probes the voters (node/cluster/cluster_rejoin.cc) and
// hands the answers to take_probe().
//
// The agent (node/cluster/cluster_follow.cc) and the multi-agent simulation
// (tests/sim/cluster_harness.h) drive this same class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/time.h"
#include "node/cluster/cluster_rpc.h"
#include "node/cluster/follow_plan.h"
#include "raft/types.h"

namespace shoal::node {

// Entry data an observer asks for per answer.
inline constexpr uint32_t kFollowMaxBytes = 4u << 20;

class FollowClient {
 public:
  FollowClient() = default;
  explicit FollowClient(FollowPlanOptions options) : plan_(options) {}

  // What the observer knows, from its source's answers and from probes.
  struct Known {
    std::string cluster_id;  // empty until a voter of some cluster answered
    NodeId leader;
    uint64_t term = 0;
    raft::ConfState conf;
    uint64_t commit = 0;  // the source's commit index, from its last answer
  };

  struct Send {
    NodeId to;
    FollowRequest req;
  };

  // The follow request and the probes to send now, given the voters that
  // could serve the log (in a fixed order), this agent's id and what it has
  // applied. Call on every tick, answer and failure.
  std::vector<Send> step(TimePoint now, std::span<const NodeId> voters, const NodeId& self,
                         uint64_t applied);

  // Probes to every voter in `voters` but the source and those avoided,
  // carrying `term` (the observer's, or a member's own Raft term).
  std::vector<Send> probes(TimePoint now, std::span<const NodeId> voters, uint64_t term);

  // What an answer changed.
  struct Outcome {
    // Not the request in flight nor a probe of ours (late, duplicate).
    bool ignored = false;
    // The leader, term or configuration changed (copy known() out; forwards
    // to an old leader and requests waiting for a leader are re-examined).
    bool learned = false;
    // A voter of this cluster answered while no cluster id was known: the
    // agent records it (adopt_failed() when it cannot).
    std::optional<std::string> adopt_cluster_id;
    // Entries to apply, in order, each the one after the applied index.
    std::vector<raft::Entry> entries;
    // A whole snapshot image to restore (restore_failed() when it cannot).
    std::optional<std::vector<uint8_t>> snapshot;
    uint64_t snapshot_index = 0;
    // An error answer, or one from another cluster (for the log).
    std::string error;
    bool other_cluster = false;
  };
  // The answer `r` from `peer`, with `applied` the agent's applied index.
  Outcome on_response(const NodeId& peer, FollowResponse r, TimePoint now, uint64_t applied);

  // The connection to `peer` broke or could not open. When `peer` is the
  // leader (and not the source), the voters are probed at the next step().
  void failed(const NodeId& peer, TimePoint now);
  // The cluster id could not be recorded: everything that answer taught is
  // forgotten (the agent took none of it; the next answer teaches it again).
  void adopt_failed(TimePoint now);
  // The snapshot could not be restored: the source is given up (another
  // voter's copy is tried).
  void restore_failed(TimePoint now);

  // Whether `id` is a probe of ours not yet answered; forgets it.
  bool take_probe(uint64_t id) { return probes_.erase(id) > 0; }

  const Known& known() const { return known_; }
  void set_cluster_id(std::string id) { known_.cluster_id = std::move(id); }
  const FollowPlan& plan() const { return plan_; }

 private:
  FollowPlan plan_;
  Known known_;
  std::set<uint64_t> probes_;  // probes not yet answered
  bool probe_leader_lost_ = false;
  uint64_t snapshot_index_ = 0;
  std::vector<uint8_t> snapshot_;  // chunks received so far
  NodeId snapshot_from_;
};

}  // namespace shoal::node
