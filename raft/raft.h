// Raft as a pure state machine, in the style of etcd-raft: no sockets,
// threads, clocks or global RNG. Time comes in as tick(), randomness from the
// injected Rng, messages through step(); what must be persisted, sent and
// applied comes out as a Ready.
//
// The host loop (node/ in an agent, tests/sim in the simulator):
//
//   raft.tick() every Config::tick (100 ms by default);
//   raft.step(msg) for every message from a peer;
//   raft.propose(data) / read_index(ctx) / propose_conf_change / transfer_leader;
//   while (raft.has_ready()) {
//     Ready rd = raft.take_ready();
//     0. send rd.early_messages (a leader's appends: see Ready);
//     1. persist: if rd.snapshot, writer.save_snapshot(*rd.snapshot) first
//        (entries in the same Ready follow it); then
//        writer.save(rd.hard_state, rd.entries, rd.must_sync)      (fail-stop
//        on any error: log_store.h)
//     2. send rd.messages — only now, after step 1 is durable (persist before
//        send: a vote or an append acknowledgement must never be sent for
//        state a crash could still lose);
//     3. apply rd.snapshot then rd.committed to the state machine; answer
//        rd.read_states once the state machine has applied their index.
//        Without a snapshot, the committed entries below rd.entries' first
//        index (all of them if rd.entries is empty) may be applied before
//        step 1 or while it runs: they were written by an earlier Ready, so
//        their quorum is durable, and a leader answers those clients without
//        waiting for the fsync of the next batch. The others must wait for
//        step 1: a leader counts its own copy toward the quorum when it
//        appends it, so an entry this Ready writes may be "committed" by a
//        copy that is not on disk yet (a one-node cluster commits on append);
//     4. raft.advance(rd);
//   }
//
// Between take_ready() and advance() the host calls nothing else on the core.
// Ordering is enforced: take_ready() while a Ready is outstanding aborts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "raft/log_store.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/types.h"

namespace shoal::raft {

struct Config {
  NodeId id;
  // Elections: a follower that hears nothing from a leader for a random
  // number of ticks in [election_ticks, 2 * election_ticks) campaigns.
  // Defaults with a 100 ms tick: heartbeat 100 ms, election in [1 s, 2 s).
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Pre-vote (thesis §9.6): a node that cannot win does not bump terms.
  bool pre_vote = true;
  // Check-quorum: a leader that has not heard from a quorum within an
  // election timeout steps down; followers that heard from a leader within
  // it ignore vote requests (leader stickiness). Together with pre-vote, a
  // node returning from a partition cannot disrupt the cluster.
  bool check_quorum = true;
  // Lease reads: the leader answers read_index() at once, trusting that no
  // other leader can exist within the election timeout. Needs check_quorum
  // and bounded clock drift; off by default (ReadIndex pays a heartbeat
  // round instead).
  bool lease_reads = false;
  // Flow control: bytes of entries per AppendEntries, and unacknowledged
  // AppendEntries per follower in the replicate state (pipelining).
  size_t max_msg_bytes = 1u << 20;
  size_t max_inflight = 256;
  // Bytes of committed entries handed out in one Ready.
  size_t max_committed_bytes = 64u << 20;
  size_t snapshot_chunk_bytes = 1u << 20;
  // Index the host's state machine has applied (for a restart).
  Index applied;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role r);

// A linearizable read is safe once the state machine has applied `index`.
struct ReadState {
  uint64_t context = 0;
  Index index;
};

struct Ready {
  std::optional<HardState> hard_state;  // set when it changed
  std::vector<Entry> entries;           // to append (may overwrite a suffix)
  std::optional<Snapshot> snapshot;     // from the leader: save, then restore
  bool must_sync = false;               // entries, term or vote changed
  std::vector<Message> messages;        // to send after persisting
  // A leader's appends, heartbeats, snapshot chunks and TimeoutNow: these may
  // be sent before (or while) this Ready is persisted, so the leader's fsync
  // and its followers' run in parallel (thesis §10.2.1). Safe because the
  // leader counts its own entries towards a commit only when an
  // acknowledgement is stepped, which is after advance(), hence after they
  // are durable; and a commit index only leaves in a later Ready.
  std::vector<Message> early_messages;
  std::vector<Entry> committed;        // to apply, in order
  std::vector<ReadState> read_states;  // reads confirmed by a quorum
  std::vector<uint64_t> failed_reads;  // reads that will never complete (leader lost)
  bool role_changed = false;           // role() or leader() changed

  bool empty() const {
    return !hard_state && entries.empty() && !snapshot && messages.empty() &&
           early_messages.empty() && committed.empty() && read_states.empty() &&
           failed_reads.empty() && !role_changed;
  }
};

class Raft {
 public:
  // Restores term, vote, commit, log and configuration from `store`, which
  // must outlive the core and stay unchanged except through the Ready
  // protocol. A fresh store must first be bootstrapped (bootstrap()).
  Raft(const Config& config, const LogStore& store, Rng& rng);
  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Writes the first configuration into an empty store: entry 1 (term 1), a
  // configuration entry naming the voters, committed. Every initial voter
  // bootstraps the same entry; nodes added later start from an empty store
  // and receive the log from the leader.
  [[nodiscard]] static Status bootstrap(LogWriter& writer, const LogStore& store,
                                        const ConfState& initial);

  void tick();
  // A message from a peer. Malformed messages (entries that do not follow
  // `index`, a zero sender) are rejected and change nothing.
  [[nodiscard]] Status step(const Message& m);

  // Leader only: appends a command and returns its index. The command is
  // committed if and when an entry with this index and the returned term is
  // applied; an entry with another term at that index means it was lost.
  // Unavailable on a follower or during a leader transfer.
  [[nodiscard]] Result<std::pair<Index, Term>> propose(std::vector<uint8_t> data);
  // Leader only, one server at a time: refused while an earlier change is
  // uncommitted, or before the leader committed an entry of its own term.
  [[nodiscard]] Result<std::pair<Index, Term>> propose_conf_change(const ConfChange& cc);
  // Starts a linearizable read; its ReadState (or failed_reads entry)
  // arrives in a later Ready. On a follower the request goes to the leader.
  // `context` identifies it and must be unique among this node's reads.
  [[nodiscard]] Status read_index(uint64_t context);
  // Leader only: hands leadership to `to` (a voter): brings it up to date,
  // then sends TimeoutNow. Proposals are refused while it runs (at most an
  // election timeout).
  [[nodiscard]] Status transfer_leader(const NodeId& to);
  // Campaigns now (tests, operator action); ignored for non-voters.
  void campaign();

  bool has_ready() const;
  Ready take_ready();
  void advance(const Ready& rd);

  // ---- Introspection (the simulator's invariants, /v1/status) ----
  const NodeId& id() const { return config_.id; }
  Role role() const;
  Term term() const { return term_; }
  const NodeId& vote() const { return vote_; }
  const NodeId& leader() const { return leader_; }
  Index commit() const { return log_.committed(); }
  Index applied() const { return log_.applied(); }
  Index last_index() const { return log_.last_index(); }
  Term term_at(Index i) const { return log_.term_or_zero(i); }
  Index first_index() const { return log_.first_index(); }
  const ConfState& conf() const { return conf_; }
  // The index of the latest configuration entry in the log; zero when the
  // configuration in force comes from the snapshot.
  Index last_conf_index() const {
    return conf_entries_.empty() ? Index() : conf_entries_.back().first;
  }
  // Leader only: the progress of each member (empty otherwise).
  std::map<NodeId, Progress> progress() const;
  bool transferring() const;

 private:
  struct Follower {};
  struct PreCandidate {
    std::map<NodeId, bool> votes;
  };
  struct Candidate {
    std::map<NodeId, bool> votes;
  };
  struct ReadRequest {
    uint64_t context = 0;  // the requester's id for the read
    NodeId from;           // zero: a local read
    uint64_t seq = 0;      // the leader's own id, carried by heartbeats
    Index index;
    std::vector<NodeId> acks;
  };
  struct Leader {
    std::map<NodeId, Progress> progress;
    std::deque<ReadRequest> reads;
    std::vector<ReadRequest> reads_before_commit;  // wait for an entry of our term
    std::optional<NodeId> transfer_to;
    int transfer_elapsed = 0;
    Index pending_conf_index;  // the last configuration entry appended
    // Heartbeat rounds: every broadcast is a numbered round (its context);
    // acknowledgements of round r confirm our leadership as of when r was
    // sent, which ReadIndex and the read lease both build on.
    uint64_t round = 0;
    std::deque<std::pair<uint64_t, int64_t>> round_ticks;  // round -> tick sent
    std::map<NodeId, uint64_t> acked_round;
    // After a TimeoutNow the target may win without waiting out leases, so
    // this leader answers no lease read for the rest of its term.
    bool lease_revoked = false;
  };
  using RoleState = std::variant<Follower, PreCandidate, Candidate, Leader>;

  // election.cc
  void become_follower(Term term, const NodeId& leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void start_election(bool pre, bool transfer);
  void handle_vote_request(const Message& m);
  void handle_vote_response(const Message& m);
  void reset_timers();
  bool promotable() const;
  bool in_lease() const;

  // replication.cc
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_append_response(const Message& m);
  void handle_heartbeat_response(const Message& m);
  void handle_snapshot_response(const Message& m);
  bool send_append(const NodeId& to, Progress& pr, bool send_if_empty);
  void maybe_send_timeout_now(const NodeId& to, const Progress& pr);
  // Leader only: the progress of a member that just answered (marked
  // recently active), or nullptr (not leader, not a member).
  Progress* responder_progress(const NodeId& from);
  void send_snapshot_chunk(const NodeId& to, Progress& pr);
  void broadcast_append();
  // Sends a new heartbeat round to every member; returns its number.
  uint64_t broadcast_heartbeat();
  bool maybe_commit();
  void append_local(std::vector<Entry> ents);
  void on_committed_advanced();

  // reads.cc
  void handle_read_index(const Message& m);
  void handle_read_index_response(const Message& m);
  void start_read(ReadRequest req);
  void ack_read(const NodeId& from, uint64_t round);
  bool lease_valid() const;
  void fail_forwarded_reads();
  void finish_read(const ReadRequest& req);
  void fail_reads();

  // membership.cc
  void rebuild_conf();
  void on_conf_appended(const Entry& e);
  void on_log_truncated(Index from);
  void sync_progress();
  void maybe_step_down_after_removal();

  void send(Message m);
  Leader* leader_state() { return std::get_if<Leader>(&role_); }
  const Leader* leader_state() const { return std::get_if<Leader>(&role_); }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }

  Config config_;
  const LogStore& store_;
  Rng& rng_;
  RaftLog log_;
  RoleState role_ = Follower{};
  Term term_;
  NodeId vote_;
  NodeId leader_;

  // The configuration: the snapshot's, then every configuration entry in
  // the log in order (they take effect when appended, thesis §4.1).
  ConfState base_conf_;
  std::vector<std::pair<Index, ConfState>> conf_entries_;
  ConfState conf_;

  // A snapshot being received from the leader, chunk by chunk, and which
  // leader (term and id) sends it: chunks of two leaders never mix.
  std::optional<Snapshot> incoming_snapshot_;
  Term incoming_term_;
  NodeId incoming_from_;
  // Reads forwarded to the leader: context -> tick sent. Failed when the
  // leader changes or no answer came within an election timeout.
  std::map<uint64_t, int64_t> forwarded_reads_;
  int64_t ticks_ = 0;  // ticks since construction (lease and read timing)

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_ticks_ = 0;

  // Outputs accumulated for the next Ready.
  std::vector<Message> msgs_;
  bool broadcast_pending_ = false;         // proposals since the last Ready: one broadcast
  bool commit_broadcast_pending_ = false;  // the commit index moved: tell followers at take_ready
  std::vector<ReadState> read_states_;
  std::vector<uint64_t> failed_reads_;
  HardState prev_hs_;
  Role prev_role_ = Role::kFollower;
  NodeId prev_leader_;
  bool ready_outstanding_ = false;
  Index ready_applied_to_;
  bool ready_has_snapshot_ = false;
};

}  // namespace shoal::raft
