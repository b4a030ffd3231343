// Elections: timers, pre-vote (thesis §9.6), RequestVote (Raft §5.2, with
// the up-to-date rule of §5.4.1), and the role transitions.
#include <algorithm>

#include "raft/raft.h"

namespace shoal::raft {

bool Raft::promotable() const { return conf_.is_voter(config_.id); }

bool Raft::in_lease() const {
  return config_.check_quorum && !leader_.is_zero() && election_elapsed_ < config_.election_ticks;
}

void Raft::reset_timers() {
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_ticks_ =
      config_.election_ticks +
      static_cast<int>(rng_.uniform(static_cast<uint64_t>(config_.election_ticks)));
}

void Raft::tick() {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: tick() between take_ready() and advance()");
  ++ticks_;
  Leader* l = leader_state();
  if (l == nullptr) {
    // A forwarded read whose request or answer was lost fails after an
    // election timeout, so the host never waits forever.
    for (auto it = forwarded_reads_.begin(); it != forwarded_reads_.end();) {
      if (ticks_ - it->second >= config_.election_ticks) {
        failed_reads_.push_back(it->first);
        it = forwarded_reads_.erase(it);
      } else {
        ++it;
      }
    }
    ++election_elapsed_;
    if (promotable() && election_elapsed_ >= randomized_election_ticks_) {
      election_elapsed_ = 0;
      start_election(/*pre=*/config_.pre_vote, /*transfer=*/false);
    }
    return;
  }
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (l->transfer_to && ++l->transfer_elapsed >= config_.election_ticks) {
    l->transfer_to.reset();  // a transfer that did not finish in time is abandoned
  }
  for (auto& [id, pr] : l->progress) {
    if (id == config_.id) continue;
    if (pr.match < log_.last_index()) ++pr.stall_ticks;
    if (pr.state == Progress::State::kSnapshot &&
        ++pr.snapshot_idle_ticks > config_.election_ticks) {
      send_snapshot_chunk(id, pr);  // the chunk or its answer was lost
    }
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      size_t active = 0;
      for (const NodeId& v : conf_.voters) {
        auto it = l->progress.find(v);
        if (v == config_.id || (it != l->progress.end() && it->second.recent_active)) ++active;
      }
      if (active < conf_.quorum()) {
        become_follower(term_, NodeId());  // cut off from a quorum: step down
        return;
      }
      for (auto& [id, pr] : l->progress) pr.recent_active = id == config_.id;
    }
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

void Raft::campaign() {
  SHOAL_CHECK(!ready_outstanding_);
  if (role() == Role::kLeader || !promotable()) return;
  start_election(config_.pre_vote, /*transfer=*/false);
}

void Raft::become_follower(Term term, const NodeId& leader) {
  if (role() == Role::kLeader) fail_reads();
  if (term != term_) {
    term_ = term;
    vote_ = NodeId();
    incoming_snapshot_.reset();
  }
  // Reads forwarded to another (or an unknown) leader will not come back.
  if (leader != leader_) fail_forwarded_reads();
  leader_ = leader;
  role_ = Follower{};
  reset_timers();
}

void Raft::become_pre_candidate() {
  SHOAL_CHECK(role() != Role::kLeader);
  role_ = PreCandidate{};
  fail_forwarded_reads();
  leader_ = NodeId();
}

void Raft::become_candidate() {
  SHOAL_CHECK(role() != Role::kLeader);
  term_ = term_.next();
  vote_ = config_.id;
  fail_forwarded_reads();
  incoming_snapshot_.reset();
  leader_ = NodeId();
  role_ = Candidate{};
  reset_timers();
}

void Raft::become_leader() {
  SHOAL_CHECK(role() == Role::kCandidate);
  role_ = Leader{};
  Leader& l = std::get<Leader>(role_);
  leader_ = config_.id;
  reset_timers();
  sync_progress();
  // The new leader's first entry: committing it commits everything before
  // it (§5.4.2), and until it commits no configuration change is allowed
  // (the one-server-at-a-time rule needs an entry of the leader's term).
  std::vector<Entry> noop;
  noop.push_back(Entry{term_, log_.last_index() + 1, EntryType::kNoop, {}});
  l.pending_conf_index = noop.back().index;
  append_local(std::move(noop));
  broadcast_append();
}

void Raft::start_election(bool pre, bool transfer) {
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  const Term t = pre ? term_.next() : term_;
  auto& votes = pre ? std::get<PreCandidate>(role_).votes : std::get<Candidate>(role_).votes;
  votes[config_.id] = true;
  if (votes.size() >= conf_.quorum()) {
    // A single voter wins at once.
    if (pre) {
      start_election(/*pre=*/false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  for (const NodeId& v : conf_.voters) {
    if (v == config_.id) continue;
    Message m;
    m.kind = pre ? MessageKind::kPreVote : MessageKind::kVote;
    m.to = v;
    m.term = t;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.transfer = transfer;
    send(std::move(m));
  }
}

void Raft::handle_vote_request(const Message& m) {
  const bool pre = m.kind == MessageKind::kPreVote;
  const bool can_vote =
      vote_ == m.from || (vote_.is_zero() && leader_.is_zero()) || (pre && m.term > term_);
  Message r;
  r.kind = pre ? MessageKind::kPreVoteResp : MessageKind::kVoteResp;
  r.to = m.from;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    // A pre-vote grant answers at the term asked about, so the asker counts
    // it; a real vote is at our (now equal) term.
    r.term = m.term;
    if (!pre) {
      vote_ = m.from;
      election_elapsed_ = 0;
    }
  } else {
    r.reject = true;
    r.term = term_;
  }
  send(std::move(r));
}

void Raft::handle_vote_response(const Message& m) {
  std::map<NodeId, bool>* votes = nullptr;
  const bool pre = m.kind == MessageKind::kPreVoteResp;
  if (pre) {
    if (auto* pc = std::get_if<PreCandidate>(&role_)) votes = &pc->votes;
  } else if (auto* c = std::get_if<Candidate>(&role_)) {
    votes = &c->votes;
  }
  if (votes == nullptr) return;
  (*votes)[m.from] = !m.reject;
  size_t granted = 0;
  size_t rejected = 0;
  for (const NodeId& v : conf_.voters) {
    auto it = votes->find(v);
    if (it == votes->end()) continue;
    (it->second ? granted : rejected)++;
  }
  if (granted >= conf_.quorum()) {
    if (pre) {
      start_election(/*pre=*/false, /*transfer=*/false);
    } else {
      become_leader();
    }
  } else if (conf_.voters.size() - rejected < conf_.quorum()) {
    become_follower(term_, NodeId());  // lost: wait for the winner
  }
}

}  // namespace shoal::raft
