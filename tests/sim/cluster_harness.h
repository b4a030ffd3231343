// Agents on the simulator: the cluster control code an agent runs around
// Raft, on many simulated agents at once, deterministically (one seed,
// virtual time). Each agent holds the agent's own state machine
// (node/cluster/cluster_machine.h: KV, node registry, snapshots) and is
//   - a member: a production RaftHost (node/consensus/raft_host.h) on a
//     SimHostExecutor and its MemoryLogStore (its disk: it survives a crash
//     minus unsynced writes); it serves the followed log to observers with
//     the agent's FollowHolds (long polls) and
//     follow_answer()/fill_follow_answer() (node/cluster/follow_serve.h);
//   - or an observer: no Raft log; it follows the committed log with the
//     agent's FollowClient (node/cluster/follow_client.h), restoring snapshots
//     with ClusterMachine::restore_image() as the agent does.
// Every agent takes writes from its own client and, when it does not lead,
// forwards them to the leader it knows with the agent's ForwardRouter
// (node/cluster/forward_router.h): waiting for a leader, 503 when nothing was done,
// 504 when a write may have been applied. Cluster RPC frames (follow and
// forward) go through the production codec (node/cluster/cluster_rpc.h) on every
// hop. Agents publish gossip metadata (cluster id, role, zone,
// --voter never, the bootstrap tag) and form the cluster with
// --bootstrap-expect (node/cluster/cluster_bootstrap.h); the leader runs
// AutopilotLoop (node/cluster/autopilot_loop.h) and the node registry writer
// (node/cluster/registry_writer.h); a member without a leader probes the voters
// (LeaderlessProbe) and steps out of Raft when replaced_by_cluster() says
// the cluster replaced it, its log moved aside (node/cluster/replaced_voter.h); an
// observer a member replicates to opens its log (opens_raft_log()).
//
// What the simulator adds:
//   - the network (LinkModel: latency, loss, partitions); an RPC frame
//     travels like one on an established TCP stream (never lost by the link
//     model, still cut by partitions and crashes);
//   - connections: when an agent crashes (kill -9), every agent up and not
//     cut off from it hears its connections close after one link latency
//     (the kernel's reset); a request sent to an agent that is down fails
//     the same way (connection refused);
//   - gossip, as a model: each agent sees a crashed peer dead after its own
//     detection delay in [detect_min, detect_max], and alive again shortly
//     after it restarts (tests/sim/gossip_* simulate the gossip core itself).
//     Observers choose the voters they follow among those alive in their
//     view; the point of FollowClient is not to wait for it.
//
// Checked after every event (the simulator's invariant):
//   election safety   at most one leader per term;
//   state-machine     every agent, voter or observer, applies the same
//   safety            entry at each index (observers through the followed
//                     log and restored snapshots).
// The writes' history goes to the linearizability checker at the end.
//
// Measured: the time from a leader's crash to each surviving agent's first
// write that succeeds (resumed_after()), and how long after the first voter
// applied an entry each observer applied it (observer_lag()).
//
// Shared by tests/sim/cluster_sim_test.cc and `shoal-bench cluster-failover`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gossip/types.h"
#include "node/cluster/follow_plan.h"
#include "raft/log_store.h"
#include "raft/raft.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/simulator.h"

namespace shoal::sim::cluster_sim {

struct ClusterWire {
  enum class Kind : uint8_t {
    kNone,
    kRaft,     // a Raft message
    kRequest,  // a cluster RPC frame from the agent that dialled
    kReply,    // a cluster RPC frame back on that connection
    kClosed,   // the sender's connection closed (`open`: it had opened)
  };
  Kind kind = Kind::kNone;
  std::shared_ptr<const raft::Message> raft;
  std::shared_ptr<const std::vector<uint8_t>> frame;
  bool open = true;
  // The sender's incarnation, and the receiver's a reply or close is meant
  // for: a connection does not outlive a process, so nothing sent on it
  // reaches the restarted one (kAnyIncarnation: a new request or a Raft
  // message).
  uint32_t from_incarnation = 0;
  uint32_t to_incarnation = kAnyIncarnation;
  static constexpr uint32_t kAnyIncarnation = ~0u;
};
using ClusterSimulator = Simulator<ClusterWire>;

// A LAN: 0.2-2 ms one way.
LinkModel lan();

struct ClusterSimConfig {
  uint64_t seed = 1;
  uint32_t voters = 3;     // agents 0..voters-1 form the first configuration
  uint32_t observers = 2;  // agents voters.. follow the log
  LinkModel network = lan();
  // The gossip model (see above).
  std::chrono::nanoseconds detect_min = std::chrono::seconds(2);
  std::chrono::nanoseconds detect_max = std::chrono::seconds(5);
  std::chrono::nanoseconds rejoin_seen_after = std::chrono::milliseconds(500);
  // The agent's cluster tick (node/cluster/agent_cluster.cc) and the Raft host's.
  std::chrono::nanoseconds agent_tick = std::chrono::milliseconds(200);
  std::chrono::nanoseconds raft_tick = std::chrono::milliseconds(100);
  raft::Config raft;  // the agent's defaults; id filled in per agent
  node::FollowPlanOptions follow;
  // Log compaction (RaftHostOptions). Smaller than the agent's default: the
  // simulated store copies its whole log on every synced save.
  uint64_t compact_every = 64;
  uint64_t compact_keep = 16;
  std::chrono::nanoseconds compact_min_interval = std::chrono::milliseconds(200);
  // Formation. 0: agents 0..voters-1 start with the first configuration.
  // N: every agent starts empty with --bootstrap-expect N and they form the
  // cluster through gossip (node/cluster/cluster_bootstrap.h); `voters` is then
  // only where the writers' roles are counted from.
  uint32_t bootstrap_expect = 0;
  // Autopilot on the leader (node/cluster/autopilot_loop.h): --voters,
  // --dead-voter-grace, the learner's stable time; each agent's zone
  // attribute (zones[i], none beyond the vector) and the agents started
  // with --voter never.
  uint32_t target_voters = 0;  // 0: `voters`
  std::chrono::nanoseconds dead_voter_grace = std::chrono::minutes(2);
  std::chrono::nanoseconds stable_for = std::chrono::seconds(10);
  std::vector<std::string> zones;
  std::vector<NodeIndex> voter_never;
  // Negative control (tests only): observers ignore closed connections and
  // let gossip tell them their source is gone, as agents did before
  // FollowClient; with a long FollowPlanOptions::slack the failover tests
  // must catch it.
  bool control_ignore_closed = false;
  // An RPC frame sent across a partition: the connection aborts after this
  // (the agent's TCP_USER_TIMEOUT, node/net/rpc_transport.h, plus the
  // retransmission it waits for).
  std::chrono::nanoseconds rpc_abort_after = std::chrono::milliseconds(2700);
  // Each agent's writer waits up to this long between writes.
  std::chrono::nanoseconds writer_think = std::chrono::milliseconds(20);
  uint32_t keys = 4;
};

struct ClusterCounters {
  uint64_t writes_ok = 0;
  uint64_t writes_unavailable = 0;  // 503: nothing was done
  uint64_t writes_unknown = 0;      // 504: may have been applied
  uint64_t elections = 0;
  uint64_t follow_failovers = 0;  // observers' sources given up (alive ones at the end)
  bool operator==(const ClusterCounters&) const = default;
};

class ClusterHarness {
 public:
  explicit ClusterHarness(ClusterSimConfig config);
  ~ClusterHarness();
  ClusterHarness(const ClusterHarness&) = delete;
  ClusterHarness& operator=(const ClusterHarness&) = delete;

  ClusterSimulator& sim() { return *sim_; }
  const ClusterSimConfig& config() const { return config_; }
  uint32_t agents() const { return config_.voters + config_.observers; }
  // Whether agent i was one of the first voters (the roles writers are
  // counted by); has_log(): whether it keeps a Raft log now.
  bool is_voter(NodeIndex i) const { return i < config_.voters; }
  bool has_log(NodeIndex i) const;
  // The node registry agent i holds (alive per node; empty while down).
  std::map<raft::NodeId, bool> registry(NodeIndex i) const;
  // Agent i's <data-dir>/cluster_id ("" while it knows none).
  const std::string& cluster_id_of(NodeIndex i) const { return disk_cluster_id_[i]; }
  // The configuration as the leader knows it (empty without one).
  raft::ConfState leader_conf() const;
  // Agents that stepped out of Raft (replaced while away), and the logs
  // they moved aside.
  uint64_t stepped_out() const { return stepped_out_; }
  // What autopilot did, in order (its reasons).
  const std::vector<std::string>& autopilot_log() const { return autopilot_log_; }
  static raft::NodeId id_of(NodeIndex i) { return raft::NodeId(0, i + 1); }
  static std::optional<NodeIndex> index_of(const raft::NodeId& id);

  bool up(NodeIndex i) const;
  // The voter that leads at the highest term among those up, if any.
  std::optional<NodeIndex> leader() const;
  // The leader agent i knows (zero: none).
  raft::NodeId known_leader(NodeIndex i) const;
  uint64_t applied(NodeIndex i) const;

  // kill -9: connections close, unsynced log writes are lost.
  void crash(NodeIndex i);
  void restart(NodeIndex i);

  // ---- writers: one per agent, writing through it, one write at a time ----
  void start_writers();
  void stop_writers() { writers_running_ = false; }
  // From now on, record each agent's first successful write submitted at or
  // after this moment.
  void mark();
  // Seconds from mark() to agent i's first such write; nullopt if none yet.
  std::optional<double> resumed_after(NodeIndex i) const;
  // Seconds from mark() to the first election won after it.
  std::optional<double> elected_after() const;

  const std::vector<double>& observer_lag() const { return observer_lag_; }
  const KvHistory& history() const { return history_; }
  const ClusterCounters& counters() const;
  const Status& violation() const { return violation_; }
  // Every agent up has applied the leader's whole committed log, and holds
  // the same state (their ClusterMachine images are identical).
  bool converged() const;
  // Records a read of every key, as the leader's state has it now, in the
  // history: with writers stopped and the agents converged, the
  // linearizability check then also proves that no write answered 503 took
  // effect and that the last acknowledged writes did.
  void record_final_reads();

 private:
  class Agent;
  friend class Agent;

  void fail(std::string what);
  void on_role(NodeIndex i, bool leader, uint64_t term);
  void on_applied(NodeIndex i, const raft::Entry& e, TimePoint agent_started, bool observer);
  // Gossip's member list as agent `viewer` sees it.
  std::vector<gossip::Member> members_seen_by(NodeIndex viewer) const;
  // The agent stops its Raft host, moves its log aside and goes on as an
  // observer (node/cluster/replaced_voter.h).
  void step_out(NodeIndex i);
  void abandon_write(NodeIndex i);
  void on_restored(NodeIndex i, uint64_t index);
  // The gossip model: whether agent `viewer` sees `peer` alive.
  bool sees_alive(NodeIndex viewer, NodeIndex peer) const;
  // Delivers to `to` that `from`'s connection closed.
  void close_connection(NodeIndex from, NodeIndex to, uint32_t to_incarnation, bool open);
  void writer_step(NodeIndex i);
  void check_value_applied(NodeIndex i, const raft::Entry& e);
  void write_done(NodeIndex i, uint64_t seq, uint32_t status);

  ClusterSimConfig config_;
  std::unique_ptr<ClusterSimulator> sim_;
  std::vector<std::unique_ptr<raft::MemoryLogStore>> stores_;
  std::vector<Agent*> procs_;  // nullptr while down
  bool tearing_down_ = false;
  Rng gossip_rng_;

  // Gossip's view: [viewer][peer] seen dead. And what each agent
  // publishes (its metadata; propagation is taken as instant).
  std::vector<std::vector<bool>> seen_dead_;
  std::vector<gossip::NodeMeta> published_;
  // Each agent's <data-dir>/cluster_id, and the logs moved aside.
  std::vector<std::string> disk_cluster_id_;
  std::vector<std::unique_ptr<raft::MemoryLogStore>> retired_stores_;
  uint64_t stepped_out_ = 0;
  std::vector<std::string> autopilot_log_;

  // Ledger.
  std::map<uint64_t, NodeIndex> leader_of_term_;
  std::vector<std::pair<uint64_t, uint64_t>> applied_;  // [index-1]: term, data hash
  std::vector<TimePoint> first_applied_at_;             // [index-1]
  std::vector<double> observer_lag_;
  Status violation_ = Status::ok();
  mutable ClusterCounters counters_;

  // Writers.
  struct Writer {
    std::optional<KvHistory::OpId> op;
    uint64_t seq = 0;
    TimePoint submitted{};
    uint64_t values = 0;
    std::string value;  // of the write in flight
  };
  // Every value is written once: each must be applied at most once, and
  // never one whose write was answered 503.
  std::map<std::string, uint64_t> applied_values_;  // value -> index
  std::set<std::string> refused_values_;
  std::vector<Writer> writers_;
  bool writers_running_ = false;
  std::optional<TimePoint> mark_;
  std::optional<TimePoint> elected_;
  std::vector<std::optional<TimePoint>> resumed_;
  KvHistory history_;
};

}  // namespace shoal::sim::cluster_sim
