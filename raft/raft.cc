// Construction, message dispatch (the term rules of Raft §5.1 plus pre-vote
// and check-quorum), proposals and the Ready/advance protocol. Elections,
// replication, reads and membership live in their own files.
#include "raft/raft.h"

#include <algorithm>

#include "raft/codec.h"

namespace shoal::raft {

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre_candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

Raft::Raft(const Config& config, const LogStore& store, Rng& rng)
    : config_(config), store_(store), rng_(rng), log_(store, config.applied) {
  SHOAL_CHECK_MSG(!config_.id.is_zero(), "raft: the node id must not be zero");
  SHOAL_CHECK(config_.election_ticks > config_.heartbeat_ticks && config_.heartbeat_ticks > 0);
  const HardState hs = store.hard_state();
  term_ = hs.term;
  vote_ = hs.vote;
  prev_hs_ = hard_state();
  auto snap = store.snapshot();
  SHOAL_CHECK_MSG(snap.is_ok(), "raft: the stored snapshot is unreadable");
  if (!snap->empty()) base_conf_ = snap->meta.conf;
  // Every configuration entry still in the log, in order: the latest one
  // is in force even if it is not committed (thesis §4.1).
  for (Index lo = store.first_index(); lo <= store.last_index();) {
    auto ents = store.entries(lo, store.last_index() + 1, 4u << 20);
    SHOAL_CHECK_MSG(ents.is_ok() && !ents->empty(), "raft: the stored log is unreadable");
    for (const Entry& e : *ents) {
      if (e.type == EntryType::kConfChange) on_conf_appended(e);
    }
    lo = ents->back().index + 1;
  }
  rebuild_conf();
  reset_timers();
}

Raft::~Raft() = default;

Status Raft::bootstrap(LogWriter& writer, const LogStore& store, const ConfState& initial) {
  if (store.last_index().value() != 0 || store.hard_state().term.value() != 0) {
    return Status::invalid_argument("raft bootstrap: the store already holds Raft state");
  }
  if (initial.voters.empty()) return Status::invalid_argument("raft bootstrap: no voters");
  if (!std::is_sorted(initial.voters.begin(), initial.voters.end()) ||
      std::adjacent_find(initial.voters.begin(), initial.voters.end()) != initial.voters.end()) {
    return Status::invalid_argument("raft bootstrap: voters must be sorted and unique");
  }
  Entry e{Term(1), Index(1), EntryType::kConfChange, codec::encode(initial)};
  return writer.save(HardState{Term(1), NodeId(), Index(1)}, std::span<const Entry>(&e, 1),
                     /*sync=*/true);
}

Role Raft::role() const {
  switch (role_.index()) {
    case 0:
      return Role::kFollower;
    case 1:
      return Role::kPreCandidate;
    case 2:
      return Role::kCandidate;
    default:
      return Role::kLeader;
  }
}

std::map<NodeId, Progress> Raft::progress() const {
  if (const Leader* l = leader_state()) return l->progress;
  return {};
}

bool Raft::transferring() const {
  const Leader* l = leader_state();
  return l != nullptr && l->transfer_to.has_value();
}

void Raft::send(Message m) {
  m.from = config_.id;
  if (m.term.value() == 0) m.term = term_;
  msgs_.push_back(std::move(m));
}

namespace {

Status validate(const Message& m, const NodeId& self) {
  if (m.from.is_zero() || m.from == self) {
    return Status::invalid_argument("raft message: bad sender");
  }
  if (m.to != self) return Status::invalid_argument("raft message: not addressed to this node");
  Term prev = m.log_term;
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (e.index != m.index + (i + 1)) {
      return Status::invalid_argument("raft message: entries do not follow the index");
    }
    if (e.term < prev || e.term > m.term) {
      return Status::invalid_argument("raft message: entry terms out of order");
    }
    prev = e.term;
  }
  if (m.kind == MessageKind::kSnapshot && m.snapshot.index.value() == 0) {
    return Status::invalid_argument("raft message: snapshot at index 0");
  }
  return Status::ok();
}

bool from_leader(MessageKind k) {
  return k == MessageKind::kAppend || k == MessageKind::kHeartbeat || k == MessageKind::kSnapshot;
}

}  // namespace

Status Raft::step(const Message& m) {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: step() between take_ready() and advance()");
  SHOAL_RETURN_IF_ERROR(validate(m, config_.id));

  if (m.term > term_) {
    const bool vote_request = m.kind == MessageKind::kVote || m.kind == MessageKind::kPreVote;
    // Leader stickiness: while we hear from a live leader, a node that wants
    // an election (typically one returning from a partition) is ignored.
    if (vote_request && !m.transfer && in_lease()) return Status::ok();
    if (m.kind == MessageKind::kPreVote) {
      // A pre-vote never changes our term.
    } else if (m.kind == MessageKind::kPreVoteResp && !m.reject) {
      // The grant of a pre-vote at the term we would campaign at.
    } else {
      become_follower(m.term, from_leader(m.kind) ? m.from : NodeId());
    }
  } else if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.kind == MessageKind::kAppend || m.kind == MessageKind::kHeartbeat)) {
      // A stale leader (cut off while we moved on) learns the new term from
      // this and steps down; with pre-vote it could not otherwise, since
      // nobody would bump its term by a vote request.
      Message r;
      r.kind = MessageKind::kAppendResp;
      r.to = m.from;
      send(std::move(r));
    } else if (m.kind == MessageKind::kPreVote) {
      Message r;
      r.kind = MessageKind::kPreVoteResp;
      r.to = m.from;
      r.reject = true;
      send(std::move(r));
    }
    return Status::ok();
  }

  switch (m.kind) {
    case MessageKind::kPreVote:
    case MessageKind::kVote:
      handle_vote_request(m);
      break;
    case MessageKind::kPreVoteResp:
    case MessageKind::kVoteResp:
      handle_vote_response(m);
      break;
    case MessageKind::kAppend:
    case MessageKind::kHeartbeat:
    case MessageKind::kSnapshot:
      if (role() == Role::kLeader) return Status::ok();  // impossible in one term; ignore
      if (role() != Role::kFollower) {
        become_follower(term_, m.from);
      } else {
        leader_ = m.from;
      }
      election_elapsed_ = 0;
      if (m.kind == MessageKind::kAppend) handle_append(m);
      if (m.kind == MessageKind::kHeartbeat) handle_heartbeat(m);
      if (m.kind == MessageKind::kSnapshot) handle_snapshot(m);
      break;
    case MessageKind::kAppendResp:
      handle_append_response(m);
      break;
    case MessageKind::kHeartbeatResp:
      handle_heartbeat_response(m);
      break;
    case MessageKind::kSnapshotResp:
      handle_snapshot_response(m);
      break;
    case MessageKind::kTimeoutNow:
      if (promotable()) start_election(/*pre=*/false, /*transfer=*/true);
      break;
    case MessageKind::kReadIndex:
      handle_read_index(m);
      break;
    case MessageKind::kReadIndexResp:
      handle_read_index_response(m);
      break;
  }
  return Status::ok();
}

Result<std::pair<Index, Term>> Raft::propose(std::vector<uint8_t> data) {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: propose() between take_ready() and advance()");
  Leader* l = leader_state();
  if (l == nullptr) return Status::unavailable("raft: not the leader");
  if (l->transfer_to) return Status::unavailable("raft: leadership transfer in progress");
  Entry e{term_, log_.last_index() + 1, EntryType::kNormal, std::move(data)};
  const Index index = e.index;
  std::vector<Entry> ents;
  ents.push_back(std::move(e));
  append_local(std::move(ents));
  // One broadcast per Ready, not per proposal: every proposal queued before
  // take_ready() shares the same AppendEntries to each follower.
  broadcast_pending_ = true;
  return std::make_pair(index, term_);
}

bool Raft::has_ready() const {
  return !msgs_.empty() || broadcast_pending_ || commit_broadcast_pending_ || log_.has_unstable() ||
         log_.pending_snapshot().has_value() || hard_state() != prev_hs_ ||
         log_.has_next_committed() || !read_states_.empty() || !failed_reads_.empty() ||
         role() != prev_role_ || leader_ != prev_leader_;
}

Ready Raft::take_ready() {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: take_ready() twice without advance()");
  if (broadcast_pending_) {
    broadcast_pending_ = false;
    broadcast_append();
  }
  if (commit_broadcast_pending_) {
    commit_broadcast_pending_ = false;
    if (Leader* l = leader_state()) {
      for (auto& [id, pr] : l->progress) {
        if (id != config_.id && pr.commit_sent < log_.committed()) {
          send_append(id, pr, /*send_if_empty=*/true);
        }
      }
    }
  }
  Ready rd;
  rd.entries = log_.unstable();
  rd.snapshot = log_.pending_snapshot();
  const HardState hs = hard_state();
  if (hs != prev_hs_) rd.hard_state = hs;
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() || hs.term != prev_hs_.term ||
                 hs.vote != prev_hs_.vote;
  rd.committed = log_.next_committed(config_.max_committed_bytes);
  if (role() == Role::kLeader) {
    for (Message& m : msgs_) {
      const bool early = m.term == term_ &&
                         (m.kind == MessageKind::kAppend || m.kind == MessageKind::kHeartbeat ||
                          m.kind == MessageKind::kSnapshot || m.kind == MessageKind::kTimeoutNow);
      (early ? rd.early_messages : rd.messages).push_back(std::move(m));
    }
  } else {
    rd.messages = std::move(msgs_);
  }
  msgs_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  rd.failed_reads = std::move(failed_reads_);
  failed_reads_.clear();
  rd.role_changed = role() != prev_role_ || leader_ != prev_leader_;

  prev_hs_ = hs;
  prev_role_ = role();
  prev_leader_ = leader_;
  ready_outstanding_ = true;
  ready_applied_to_ = rd.committed.empty() ? log_.applied() : rd.committed.back().index;
  ready_has_snapshot_ = rd.snapshot.has_value();
  return rd;
}

void Raft::advance(const Ready& rd) {
  SHOAL_CHECK_MSG(ready_outstanding_, "raft: advance() without take_ready()");
  (void)rd;
  log_.stable_and_applied(ready_applied_to_, ready_has_snapshot_);
  ready_outstanding_ = false;
}

}  // namespace shoal::raft
