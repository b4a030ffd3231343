// RaftHost: the real host loop around one pure Raft core (raft/raft.h). It
// owns the core and turns the core's Ready protocol into durable writes,
// sent messages, applied entries and answered client callbacks.
//
// What it runs on comes from outside, so that the simulator runs this very
// loop (tests/sim/raft_harness.h) under crashes and partitions:
//   - the log: a raft::LogStore to read and a raft::LogWriter to write (the
//     agent's is raft::RocksLogStore, which open() makes in data_dir; the
//     simulator's a raft::MemoryLogStore that loses unsynced writes);
//   - the executor (node/consensus/host_executor.h): where its work runs, its one
//     tick timer, and the Clock every time it reads comes from
//     (AsioHostExecutor and steady time in the agent; virtual time in the
//     simulator). The host never reads a clock of its own;
//   - the Transport its messages leave by and the StateMachine it applies to.
// open() builds the production set; open_with() takes them injected.
//
// Threading. Everything that touches the core runs on the executor, one
// piece of work at a time. In production (open()) that is the host's own
// io_context thread (the default), or a caller's io_context that is run by
// one thread. deliver(), propose(), read(), propose_conf_change(),
// transfer_leader(), status() and read_committed() are thread-safe: they
// append to a mailbox under a mutex and post the loop. Callbacks (their
// completions) and Transport::send() / StateMachine::apply() run on the loop
// thread; they must not block, and may call any of those entry points
// (which only enqueue).
//
// The loop, one pass per posted run (the contract of raft.h, exactly):
//
//   1. drain the mailbox: step every inbound message, then feed every
//      proposal (unless pacing holds it, below), read, conf change and
//      transfer queued since the last Ready to the core;
//   2. take ONE Ready: send its early messages (a leader's appends, which
//      overlap its own fsync with its followers'), apply the committed
//      entries that are already durable here (those below its first new
//      entry, unless it restores a snapshot), persist it (one
//      LogWriter::save(), one RocksDB WriteBatch in production, synced when
//      must_sync), send its other messages, apply the rest of its committed
//      entries, answer reads, then advance();
//   3. answer the queries (status(), read_committed()) of the pass;
//   4. if the mailbox or the core has more, post the next pass (a posted
//      pass, not a loop, so the tick timer is never starved).
//
// Group commit is the point of step 1: every proposal that arrived while the
// previous Ready was being fsynced lands in the same Ready, so one synced
// write covers all of them. And since a Ready's committed entries that are
// already durable are applied before its write, applying what the stepped
// messages committed (typically a leader receiving acknowledgements) never
// waits behind the fsync of the new entries fed in the same pass.
//
// Pacing (leader only, RaftHostOptions::pace_proposals). Group commit alone
// lets proposals trickle: under steady load a leader whose clients are
// answered a few at a time writes and replicates a few entries at a time,
// and every follower pays one fsync, one message and one acknowledgement per
// trickle. So while the leader's last batch of proposals is not yet
// committed, new proposals wait in the host (not in the core); once it
// commits, everything that waited goes out as the next batch, in arrival
// order. At most one batch is in flight: a round of replication per batch,
// with the batch as large as what arrived during the previous round. An
// idle leader holds nothing (a lone client is never delayed), and the wait
// ends early once the held proposals reach max_held_proposals or
// max_held_bytes, or when this node stops leading (the core then refuses
// them). Held proposals released by a commit are fed to the core in the
// same pass, so the appends that carry them also tell the followers the new
// commit index (one message per follower per round), while the entries that
// commit covered are applied before the new ones are written.
//
// Failures. A failed save is fatal (fail-stop, see log_store.h): the host
// logs it with spdlog and calls std::abort(). Continuing after a failed fsync
// could acknowledge a write that the disk lost.
//
// Negative controls (RaftHostOptions::negative_controls): deliberate bugs,
// all off unless a test turns one on, that the simulator's checks must
// catch (tests/sim/raft_negative_control_test.cc). The agent never sets them.
//
// Log compaction: after `compact_every` applied entries (but not within
// `compact_min_interval` of the previous compaction: a snapshot stalls the
// loop for its whole serialisation and synced write, tens of ms for a few
// MB, and under a steady write load the count alone would trigger one
// every second or two; time is the executor's Clock), or after
// `compact_bytes` of applied entry data (whatever the interval), the host
// takes a StateMachine::snapshot() at the applied index, stores it with the
// configuration in force there, and drops the log up to `compact_keep`
// entries behind it (kept for slow followers; older ones get the snapshot).
//
// Membership and leadership (leader only): propose_conf_change() feeds one
// ConfChange to the core with the proposals of the same pass and answers
// through the same queue (ok once its entry is applied here);
// transfer_leader() starts a transfer and answers at once. status() and
// read_committed() are queries: queued like the rest, they run on the loop
// at the end of a pass, after advance(), so they see a settled core and
// never fall between take_ready() and advance(). read_committed() serves
// observers outside the configuration from the stored log, never beyond the
// commit index and never an entry the core's log disagrees with (a
// follower's stored suffix about to be overwritten).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "core/time.h"
#include "node/consensus/host_executor.h"
#include "raft/log_store.h"
#include "raft/message.h"
#include "raft/raft.h"
#include "raft/rocksdb_log_store.h"
#include "raft/types.h"

namespace shoal::node {

// Where the host's outgoing Raft messages go. Called on the loop thread,
// only after the state they depend on is durable (a leader's early messages
// depend on nothing unsynced, raft.h); must not block (queue and
// return). The network implementation encodes with raft/codec.h; an
// in-memory transport (benchmarks, tests) may hand the Message object
// straight to the peer host's deliver() — no codec on that path.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(const raft::Message& m) = 0;
};

// The replicated state machine. apply() sees every committed entry in log
// order exactly once per host lifetime (kNoop and kConfChange entries too,
// so that it can track the applied index); the state is rebuilt from the
// latest snapshot plus the log on restart.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual void apply(const raft::Entry& e) = 0;
  // An image of the state, as of the last entry applied, for log
  // compaction; restore() must rebuild exactly this state from it.
  virtual std::vector<uint8_t> snapshot() { return {}; }
  // Replaces the state with a snapshot's image (on open, or when the leader
  // sends one).
  virtual void restore(const raft::Snapshot& /*snap*/) {}
};

class AsioHostExecutor;  // node/consensus/asio_host_executor.h

// Negative controls: deliberate bugs that prove the simulator's checks can
// fail (tests/sim/raft_negative_control_test.cc turns each on and expects a
// violation). Only tests set them; the agent never does. All off is the
// correct host.
struct RaftHostFaults {
  // Apply EVERY committed entry of a Ready before persisting it, also those
  // the Ready itself writes (the bug fixed in f02c987): a one-node leader
  // then answers a client before its entry is durable.
  bool apply_before_persist = false;
  // Answer a proposal ok as soon as the core accepts it, before its entry
  // is written (let alone committed).
  bool ack_before_durable = false;
};

struct RaftHostOptions {
  // The core's configuration; `id` is required. `applied` is overridden by
  // the stored snapshot's index (the state machine restarts from it).
  raft::Config raft;
  // open() only: RocksDB directory of this node's log (created when
  // missing) and its options. open_with() takes the log from the caller.
  std::string data_dir;
  raft::RocksLogStoreOptions store;
  // When the store is empty: the first configuration (Raft::bootstrap). Every
  // initial voter passes the same one; nodes joining later pass nullopt.
  std::optional<raft::ConfState> bootstrap;
  // Config::election_ticks and heartbeat_ticks count these (executor time).
  std::chrono::nanoseconds tick = std::chrono::milliseconds(100);
  // Seed for the core's election jitter; 0: from the OS CSPRNG.
  uint64_t rng_seed = 0;
  // Pacing (see above): hold proposals while the leader's previous batch is
  // uncommitted, up to these many (or bytes of them) at once.
  bool pace_proposals = true;
  size_t max_held_proposals = 1024;
  size_t max_held_bytes = 1u << 20;
  // Log compaction (see above): after compact_every entries or compact_bytes
  // of applied entry data, whichever comes first; 0 disables either.
  uint64_t compact_every = 10000;
  std::chrono::nanoseconds compact_min_interval = std::chrono::seconds(10);
  uint64_t compact_bytes = 64u << 20;
  uint64_t compact_keep = 1000;
  // Called on the loop thread whenever this node's role or its known leader
  // changed: whether it now leads, its term, the leader it knows (zero if
  // none). Must not block.
  std::function<void(bool leader, uint64_t term, const raft::NodeId& leader_id)> on_role_change;
  // Tests only (RaftHostFaults above); the agent leaves them off.
  RaftHostFaults negative_controls;
};

// Counters, readable from any thread (relaxed; for benchmarks and metrics).
struct RaftHostStats {
  std::atomic<uint64_t> readies{0};
  std::atomic<uint64_t> synced_saves{0};    // save() calls with sync (one fsync each)
  std::atomic<uint64_t> synced_entries{0};  // entries those saves carried
  std::atomic<uint64_t> synced_save_ns{0};  // executor-clock time spent in those saves
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> messages_rejected{0};  // malformed ones the core refused
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> applied{0};         // entries applied
  std::atomic<uint64_t> compactions{0};     // snapshots taken for log compaction
  std::atomic<uint64_t> held_proposals{0};  // proposals pacing made wait for a commit
  std::atomic<uint64_t> paced_batches{0};   // batches of held proposals released
};

// One member as the leader sees it (RaftHost::status()).
struct RaftPeerStatus {
  raft::NodeId id;
  bool learner = false;
  uint64_t match = 0;
  uint64_t next = 0;
  // Since this host last received any message from it; max() if never.
  std::chrono::nanoseconds since_heard{0};
};

// A consistent snapshot of the core (RaftHost::status()).
struct RaftStatus {
  raft::NodeId id, leader;
  raft::Role role = raft::Role::kFollower;
  uint64_t term = 0, commit = 0, applied = 0, first_index = 0, last_index = 0;
  // The configuration in force: the latest appended, as the core tracks it.
  raft::ConfState conf;
  // A configuration entry is in the log but not yet applied here (on a
  // leader: the change it proposed is in flight; a new one is refused).
  bool conf_change_pending = false;
  // Leader only: every member of `conf` except this node, by id.
  std::vector<RaftPeerStatus> peers;
};

// What RaftHost::read_committed() returns to an observer following the log.
struct LogFollowBatch {
  uint64_t commit = 0;  // this host's commit index
  // Set when `after` is older than the log keeps (after < first_index - 1):
  // the stored snapshot; the entries then follow it.
  std::optional<raft::Snapshot> snapshot;
  // Committed entries with index > after (or > the snapshot's index), in
  // order: total data bytes <= max_bytes, but at least one if there is any.
  std::vector<raft::Entry> entries;
};

class RaftHost {
 public:
  // Completion of a proposal: ok with its index once applied here.
  // kUnavailable guarantees that it will never commit: it was refused (not
  // the leader, a transfer running), the host stopped before feeding it to
  // the core, or another leader's entry took its index. kOutcomeUnknown
  // means it is in the log but its fate is not known here: this node lost
  // leadership, the host stopped, or a snapshot covered its index before it
  // was seen applied (it may or may not commit).
  using ProposeCallback = std::function<void(Status, raft::Index)>;
  // Completion of a linearizable read: ok once the state machine has
  // applied everything committed when the read started; kUnavailable when
  // leadership was lost or the host stopped.
  using ReadCallback = std::function<void(Status)>;
  using StatusCallback = std::function<void(Status)>;

  // Opens (creating) the RocksDB log in options.data_dir, then open_with()
  // on it. `io`: run on that io_context (driven by exactly one thread);
  // nullptr: the host owns an io_context and a thread. `transport` and `sm`
  // must outlive the host.
  [[nodiscard]] static Result<std::unique_ptr<RaftHost>> open(
      RaftHostOptions options, Transport& transport, StateMachine& sm,
      boost::asio::io_context* io = nullptr);
  // The host on injected parts: reads the log through `store` and writes it
  // through `writer` (usually the same object), runs on `executor`.
  // Bootstraps the log if empty and options.bootstrap is set, restores `sm`
  // from the stored snapshot and builds the core. Everything passed in must
  // outlive the host; options.data_dir and options.store are not used.
  [[nodiscard]] static Result<std::unique_ptr<RaftHost>> open_with(
      RaftHostOptions options, raft::LogStore& store, raft::LogWriter& writer,
      HostExecutor& executor, Transport& transport, StateMachine& sm);
  ~RaftHost();  // stop()s
  RaftHost(const RaftHost&) = delete;
  RaftHost& operator=(const RaftHost&) = delete;

  // Starts the tick timer (and the host's thread when it owns one).
  void start();
  // Stops ticking, answers every pending proposal and read (kUnavailable,
  // or kOutcomeUnknown for proposals already in the log), and drops later
  // deliveries; joins the host's own thread. Idempotent. Otherwise (a
  // caller's io_context, an injected executor) call it on the executor's
  // thread or while the executor runs nothing.
  void stop();

  // ---- thread-safe entry points ----
  // A message from a peer.
  void deliver(raft::Message m);
  // Proposes a command (leader only; elsewhere the callback gets kUnavailable).
  void propose(std::vector<uint8_t> data, ProposeCallback done);
  // A linearizable read (ReadIndex); on a follower it is forwarded.
  void read(ReadCallback done);
  // Leader only: proposes one membership change (Raft::propose_conf_change).
  // done(ok, index) once its entry is applied here, with the outcomes of
  // propose(); kUnavailable when refused (not the leader, a transfer
  // running, an earlier change not committed, no entry of this leader's
  // term committed yet), kInvalidArgument when it does not apply to the
  // configuration (adding a member twice, promoting a non-learner, ...).
  void propose_conf_change(raft::ConfChange cc, ProposeCallback done);
  // Leader only: starts handing leadership to the voter `to`
  // (Raft::transfer_leader). done(ok) once started (not once finished:
  // watch on_role_change); kUnavailable when not the leader or stopped,
  // kInvalidArgument when `to` is not a voter.
  void transfer_leader(raft::NodeId to, StatusCallback done);
  // A consistent snapshot of the core, taken on the loop thread; done runs
  // there. After stop(): only id, term and applied are filled in.
  void status(std::function<void(RaftStatus)> done);
  // For observers outside the configuration that follow the committed log:
  // reads the stored log after index `after` (never beyond the commit
  // index) on the loop thread; done(batch) runs there, or done(error):
  // kUnavailable when stopped, a storage error otherwise. At most 4096
  // entries per batch.
  void read_committed(uint64_t after, size_t max_bytes,
                      std::function<void(Result<LogFollowBatch>)> done);

  // ---- introspection (thread-safe snapshots, updated after every Ready) ----
  const raft::NodeId& id() const { return id_; }
  bool is_leader() const { return is_leader_.load(std::memory_order_acquire); }
  uint64_t term() const { return term_.load(std::memory_order_relaxed); }
  uint64_t applied_index() const { return applied_index_.load(std::memory_order_relaxed); }
  const RaftHostStats& stats() const { return stats_; }

 private:
  struct Proposal {
    std::vector<uint8_t> data;
    ProposeCallback done;
  };
  struct ConfProposal {
    raft::ConfChange cc;
    ProposeCallback done;
  };
  struct Transfer {
    raft::NodeId to;
    StatusCallback done;
  };
  // A status() or read_committed(): run on the loop outside any Ready;
  // `stopped` when the host is shutting down.
  using Query = std::function<void(bool stopped)>;
  struct Mailbox {
    std::vector<raft::Message> messages;
    std::vector<Proposal> proposals;
    std::vector<ReadCallback> reads;
    std::vector<ConfProposal> conf_changes;
    std::vector<Transfer> transfers;
    std::vector<Query> queries;
    // Work for the core other than messages.
    bool has_client_work() const {
      return !proposals.empty() || !reads.empty() || !conf_changes.empty() || !transfers.empty();
    }
    bool empty() const { return messages.empty() && !has_client_work() && queries.empty(); }
    void clear();
  };
  struct PendingProposal {
    raft::Index index;
    raft::Term term;
    ProposeCallback done;
  };

  RaftHost(RaftHostOptions options, raft::LogStore& store, raft::LogWriter& writer,
           HostExecutor& executor, Transport& transport, StateMachine& sm);
  // Posts a pass of the loop unless one is already posted. mu_ held.
  void schedule_locked();
  void run_pass();
  void step_messages(std::vector<raft::Message>& messages);
  void feed_clients(Mailbox& batch);
  // Pacing: whether proposals must wait now (a batch of ours in flight and
  // room left), and moving the batch's proposals behind the held ones, then
  // all of them back when they need not wait.
  bool must_hold() const;
  void hold_or_release(Mailbox& batch);
  // Adds a query to the mailbox, or answers it as stopped.
  void enqueue_query(Query q);
  RaftStatus make_status() const;
  Result<LogFollowBatch> make_follow_batch(uint64_t after, size_t max_bytes) const;
  void track_proposal(raft::Index index, raft::Term term, ProposeCallback done);
  void handle_ready();
  // Queues rd's read states until applied covers them, fails its failed
  // reads, and answers those the applied state covers.
  void answer_reads(const raft::Ready& rd);
  void apply_entry(const raft::Entry& e);
  void maybe_compact();
  void serve_reads();
  void after_advance(bool role_changed);
  void fail_proposals(const char* why);
  void arm_tick();
  void on_tick();
  void shutdown_on_loop();
  [[noreturn]] void fatal(const char* what, const Status& st);

  RaftHostOptions options_;
  raft::NodeId id_;
  Transport& transport_;
  StateMachine& sm_;
  // What open() made (nothing with open_with()): the executor, declared
  // before everything that uses it, and the RocksDB log.
  std::unique_ptr<AsioHostExecutor> own_executor_;
  std::unique_ptr<raft::LogStore> own_store_;
  HostExecutor& exec_;
  raft::LogStore& store_;
  raft::LogWriter& writer_;
  std::unique_ptr<HostTimer> tick_timer_;
  TimePoint next_tick_;

  std::unique_ptr<Rng> rng_;
  std::unique_ptr<raft::Raft> raft_;

  // The mailbox: written by any thread under mu_, drained by the loop.
  std::mutex mu_;
  Mailbox inbox_;
  bool scheduled_ = false;  // a pass is posted and has not yet drained
  bool stopping_ = false;   // no more passes; deliveries are dropped

  // Loop-thread state.
  Mailbox batch_;  // reused between passes (keeps capacity)
  bool started_ = false;
  bool stopped_ = false;
  raft::Index applied_;
  raft::ConfState applied_conf_;  // the configuration as of applied_
  raft::Index last_compaction_;
  std::optional<TimePoint> last_compaction_at_;  // none yet
  uint64_t applied_bytes_since_compaction_ = 0;
  std::deque<PendingProposal> proposals_;  // one leader term, increasing index
  // Pacing: proposals waiting for the batch in flight (the end of
  // proposals_) to commit, and their data bytes.
  std::vector<Proposal> held_;
  size_t held_bytes_ = 0;
  raft::Term proposals_term_;
  uint64_t next_read_ = 0;
  std::unordered_map<uint64_t, ReadCallback> reads_;  // by context, awaiting a ReadState
  std::multimap<uint64_t, ReadCallback> waiting_;     // by read index, awaiting apply
  // When a message from each peer last arrived (status()'s since_heard).
  std::unordered_map<raft::NodeId, TimePoint> last_heard_;

  // Cross-thread snapshots.
  std::atomic<bool> is_leader_{false};
  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> applied_index_{0};
  RaftHostStats stats_;
};

}  // namespace shoal::node
