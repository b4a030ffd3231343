// Raft on the simulator: N cores (raft/) with in-memory log stores that lose
// unsynced writes on a crash, a KV state machine applied from the log, a
// client workload recorded for the linearizability checker, and a ledger
// that checks Raft's safety properties after every event:
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
//
// Shared by tests/sim/raft_*_test.cc and `shoal-bench raft-sim`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  // Each node snapshots its state machine every this many applied entries
  // (0: never), keeping `snapshot_keep` entries behind for slow followers.
  uint64_t snapshot_every = 64;
  uint64_t snapshot_keep = 16;
  // A client gives up on an op after this long (it becomes indeterminate).
  std::chrono::nanoseconds client_timeout = std::chrono::seconds(3);
  uint32_t keys = 4;
};

struct Counters {
  uint64_t puts_ok = 0, gets_ok = 0, deletes_ok = 0;
  uint64_t failed = 0, indeterminate = 0;
  uint64_t elections = 0;       // times some node became leader
  uint64_t snapshots_sent = 0;  // snapshot installs on followers
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

  // The core of a node that is up (nullptr while it is down).
  raft::Raft* core(NodeIndex i);
  // Node i's log store: its disk, which survives crashes.
  raft::MemoryLogStore& store(NodeIndex i) { return *stores_[i]; }
  // The leader with the highest term among nodes that are up, if any.
  std::optional<NodeIndex> leader() const;

  // ---- scripted actions (from Simulator::at scripts or between runs) ----
  void crash(NodeIndex i);  // also a power cut: unsynced log writes are lost
  void restart(NodeIndex i);
  // Asks node i (if up and leader) to transfer / change membership; returns
  // whether the core accepted.
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
  // All up nodes have applied the same index, and some node leads.
  bool converged();
  // Seconds without a leader after each leader crash: from the crash to the
  // first moment some node leads at a higher term.
  const std::vector<double>& leaderless_gaps() const { return gaps_; }

  // Internal: the node processes report to the harness.
  struct Node;
  class Process;

 private:
  friend class Process;
  void fail(std::string what);
  void on_ready_persisted(NodeIndex i, const raft::Ready& rd);
  void on_applied(NodeIndex i, const raft::Entry& e);
  void on_role(NodeIndex i);
  void check_window(NodeIndex i);
  void client_step(uint32_t client);

  HarnessConfig config_;
  std::unique_ptr<RaftSimulator> sim_;
  std::vector<std::unique_ptr<raft::MemoryLogStore>> stores_;
  std::vector<Process*> procs_;  // nullptr while down

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

 public:
  // Used by Process: finishes client `c`'s op `seq` (ignored if stale).
  void client_done(uint32_t c, uint64_t seq, bool ok, std::optional<std::string> observed,
                   bool definite_failure);
  KvHistory& history_mut() { return history_; }
};

}  // namespace shoal::sim::raft_sim
