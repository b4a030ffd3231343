// Raft on the simulator: one production RaftHost (node/consensus/raft_host.h) per
// simulated node, the very host loop the agent runs (mailbox, early apply of
// durable committed entries, proposal pacing, log compaction, snapshot send
// and install), on
//   - a SimHostExecutor (sim_host_executor.h): the node's callbacks, its
//     virtual clock, simulator timers;
//   - a MemoryLogStore per node, its disk: it survives a crash, minus the
//     unsynced writes (power_cut()), written through a SimLogWriter
//     (sim_log_writer.h) that reports synced votes and can make the node
//     die inside an fsync;
//   - a Transport that sends through the simulator (each message through
//     the real codec and back on the way, with `codec_roundtrip`);
//   - a KvMachine (raft_kv_machine.h) as the StateMachine.
// Clients submit through RaftHost::propose() / read() and are recorded for
// the linearizability checker: ok completes an op, kUnavailable fails it
// definitely, kOutcomeUnknown (or silence until the client's timeout)
// leaves it open. A ledger checks Raft's safety properties after every
// event:
//
//   election safety     at most one leader per term (ever, across crashes);
//   vote durability     a node never votes twice in a term, even after a
//                       crash (its vote was synced before it was sent);
//   log matching        two logs with the same (index, term) agree on every
//                       entry before it (checked on a window after every
//                       event, over whole logs by check_final());
//   leader completeness a new leader holds every entry ever applied;
//   state-machine       every node applies the same entry at each index.
//   safety
// and that no core rejects a message (RaftHostStats::messages_rejected).
//
// The ledger watches from outside the host: synced saves through the
// SimLogWriter, roles through RaftHostOptions::on_role_change, applied
// entries through the KvMachine, logs through the stores (between events a
// host has drained its work, so its store holds exactly its core's log).
//
// A node that dies inside an fsync (HarnessConfig::crash_in_fsync) is
// frozen at once: nothing it sends, answers or applies after that write is
// seen; the simulator crashes it at the same virtual instant (its power cut
// drops the write) and restarts it a little later.
//
// Shared by tests/sim/raft_*_test.cc and `shoal-bench raft-failover`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "node/consensus/raft_host.h"
#include "raft/log_store.h"
#include "raft/raft.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/simulator.h"

namespace shoal::sim::raft_sim {

// Messages travel as shared immutable objects; with `codec_roundtrip` each
// one also goes through the real codec on the way.
struct Wire {
  std::shared_ptr<const raft::Message> msg;
};
using RaftSimulator = Simulator<Wire>;

struct HarnessConfig {
  uint64_t seed = 1;
  uint32_t voters = 3;  // nodes 0..voters-1 bootstrap the first configuration
  uint32_t spares = 0;  // further nodes, started empty (membership tests)
  LinkModel network;
  std::chrono::nanoseconds tick = std::chrono::milliseconds(100);
  raft::Config raft;  // id and applied are filled in per node
  bool codec_roundtrip = true;
  // The hosts' log compaction (RaftHostOptions): a snapshot every this many
  // applied entries (0: never), at most once per `compact_min_interval` of
  // virtual time, keeping `compact_keep` entries behind for slow followers.
  uint64_t compact_every = 64;
  uint64_t compact_keep = 16;
  std::chrono::nanoseconds compact_min_interval = std::chrono::milliseconds(200);
  // Probability that a synced save is a node's last: it dies inside that
  // fsync, and restarts after up to `fsync_crash_downtime_max`.
  double crash_in_fsync = 0;
  std::chrono::nanoseconds fsync_crash_downtime_max = std::chrono::seconds(1);
  // Negative controls on every host (tests/sim/raft_negative_control_test.cc).
  node::RaftHostFaults faults;
  // A client gives up on an op after this long (it becomes indeterminate).
  std::chrono::nanoseconds client_timeout = std::chrono::seconds(3);
  uint32_t keys = 4;
};

struct Counters {
  uint64_t puts_ok = 0, gets_ok = 0, deletes_ok = 0;
  uint64_t failed = 0, indeterminate = 0;
  uint64_t elections = 0;       // times some node became leader
  uint64_t snapshots_sent = 0;  // snapshot installs on followers
  uint64_t fsync_crashes = 0;   // nodes that died inside an fsync
  bool operator==(const Counters&) const = default;
};

class RaftHarness {
 public:
  explicit RaftHarness(HarnessConfig config);
  ~RaftHarness();
  RaftHarness(const RaftHarness&) = delete;
  RaftHarness& operator=(const RaftHarness&) = delete;

  RaftSimulator& sim() { return *sim_; }
  const HarnessConfig& config() const { return config_; }
  uint32_t nodes() const { return config_.voters + config_.spares; }
  static raft::NodeId id_of(NodeIndex i) { return raft::NodeId(0, i + 1); }
  static std::optional<NodeIndex> index_of(const raft::NodeId& id);

  // Whether node i runs (booted, not crashed, not dying in an fsync).
  bool up(NodeIndex i) const;
  // Whether node i is up and its host leads.
  bool is_leader(NodeIndex i) const;
  // The leader with the highest term among nodes that are up, if any.
  std::optional<NodeIndex> leader() const;
  // RaftHost::status() of node i, taken now (from a script or between
  // runs, as an operator would); nullopt while it is down.
  std::optional<node::RaftStatus> status(NodeIndex i);
  // Node i's host counters (this incarnation's); nullptr while it is down.
  const node::RaftHostStats* host_stats(NodeIndex i) const;
  // Node i's log store: its disk, which survives crashes.
  raft::MemoryLogStore& store(NodeIndex i) { return *stores_[i]; }

  // ---- scripted actions (from Simulator::at scripts or between runs) ----
  void crash(NodeIndex i);  // also a power cut: unsynced log writes are lost
  void restart(NodeIndex i);
  // Asks node i's host to transfer leadership / change membership; returns
  // false when it refused at once (not the leader, ...).
  bool transfer(NodeIndex i, NodeIndex to);
  bool conf_change(NodeIndex i, const raft::ConfChange& cc);

  // ---- the client workload ----
  // Starts `clients` clients, each issuing one op at a time to a random up
  // node (puts go to the node the client believes leads), with a think time
  // in [0, think_max] between ops, until stop_clients().
  void start_clients(uint32_t clients, std::chrono::nanoseconds think_max);
  void stop_clients() { clients_running_ = false; }
  const KvHistory& history() const { return history_; }
  const Counters& counters() const { return counters_; }

  // ---- checks ----
  // The first safety violation seen (the simulator's invariant returns it).
  const Status& violation() const { return violation_; }
  // Whole-log matching between every pair of up nodes, and that every up
  // node applied the same state.
  Status check_final();
  // Some node leads, has committed its whole log, and every member that is
  // up has applied all of it.
  bool converged();
  // Seconds without a leader after each leader crash: from the crash to the
  // first moment some node leads at a higher term.
  const std::vector<double>& leaderless_gaps() const { return gaps_; }

 private:
  class Process;
  friend class Process;

  void fail(std::string what);
  // Ledger, fed by the processes.
  void on_synced_hard_state(NodeIndex i, const raft::HardState& hs);
  void on_applied(NodeIndex i, const raft::Entry& e);
  void on_role(NodeIndex i, bool leader, uint64_t term);
  void check_window(NodeIndex i);
  // Dying in an fsync: whether this synced save is node i's last, and the
  // crash and restart that follow.
  bool roll_fsync_death();
  void on_died_in_fsync(NodeIndex i);
  void note_leader_lost(NodeIndex i);
  // Clients.
  void client_step(uint32_t client);
  void client_done(uint32_t c, uint64_t seq, bool ok, std::optional<std::string> observed,
                   bool definite_failure);
  // The outcome of a write (RaftHost::ProposeCallback's status).
  void write_done(uint32_t c, uint64_t seq, const Status& st);

  HarnessConfig config_;
  std::unique_ptr<RaftSimulator> sim_;
  std::vector<std::unique_ptr<raft::MemoryLogStore>> stores_;
  std::vector<Process*> procs_;  // nullptr while down
  Rng fsync_rng_;
  bool tearing_down_ = false;  // hosts answer while the simulator is destroyed

  // Ledger.
  std::map<uint64_t, NodeIndex> leader_of_term_;
  std::map<std::pair<NodeIndex, uint64_t>, raft::NodeId> votes_;  // durable votes
  std::vector<std::pair<raft::Term, uint64_t>> applied_;          // [index-1]: term, data hash
  Status violation_ = Status::ok();

  // Clients.
  struct Client {
    std::optional<KvHistory::OpId> op;
    uint64_t seq = 0;  // which op this is, to ignore late answers
    int kind = 0;      // 0 put, 1 get, 2 delete
    uint64_t values = 0;
  };
  std::vector<Client> clients_;
  bool clients_running_ = false;
  std::chrono::nanoseconds think_max_{};
  KvHistory history_;
  Counters counters_;

  // Leaderless gaps.
  std::optional<TimePoint> leader_lost_at_;
  uint64_t lost_term_ = 0;
  std::vector<double> gaps_;
};

}  // namespace shoal::sim::raft_sim
