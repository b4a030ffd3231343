// Linearizable reads by ReadIndex (thesis §6.4): the leader notes its commit
// index, confirms with a heartbeat round that it is still the leader, and
// the read may be served once the state machine has applied that index.
// Lease reads (§6.4.1) skip the round, behind Config::lease_reads.
#include <algorithm>

#include "raft/raft.h"

namespace shoal::raft {

Status Raft::read_index(uint64_t context) {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: read_index() between take_ready() and advance()");
  if (role() == Role::kLeader) {
    ReadRequest r;
    r.context = context;
    start_read(std::move(r));
    return Status::ok();
  }
  if (leader_.is_zero()) return Status::unavailable("raft: no leader");
  Message m;
  m.kind = MessageKind::kReadIndex;
  m.to = leader_;
  m.context = context;
  send(std::move(m));
  forwarded_reads_[context] = ticks_;
  return Status::ok();
}

void Raft::start_read(ReadRequest req) {
  Leader* l = leader_state();
  SHOAL_CHECK(l != nullptr);
  // Until an entry of its term commits, a new leader does not know the
  // true commit index (§6.4 step 1): hold the read.
  if (log_.term_or_zero(log_.committed()) != term_) {
    l->reads_before_commit.push_back(std::move(req));
    return;
  }
  req.index = log_.committed();
  const bool alone = conf_.voters.size() == 1 && conf_.is_voter(config_.id);
  if (alone || (config_.lease_reads && config_.check_quorum && lease_valid())) {
    finish_read(req);
    return;
  }
  // Confirmed by the heartbeat round sent now (or any later one).
  req.seq = l->round + 1;
  req.acks = {config_.id};
  l->reads.push_back(std::move(req));
  broadcast_heartbeat();
}

bool Raft::lease_valid() const {
  const Leader* l = leader_state();
  if (l == nullptr || l->lease_revoked || l->transfer_to) return false;
  // The latest round a quorum of voters acknowledged: those voters heard
  // from us no earlier than when it was sent, so none of them grants a vote
  // (leader stickiness) for an election timeout after that. Two ticks of
  // margin cover tick phase on both ends; clock rates are assumed equal.
  std::vector<uint64_t> rounds;
  for (const NodeId& v : conf_.voters) {
    if (v == config_.id) {
      rounds.push_back(l->round);
      continue;
    }
    auto it = l->acked_round.find(v);
    rounds.push_back(it == l->acked_round.end() ? 0 : it->second);
  }
  if (rounds.empty()) return false;
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  const uint64_t q = rounds[conf_.quorum() - 1];
  if (q == 0) return false;
  for (const auto& [round, tick] : l->round_ticks) {
    if (round == q) return ticks_ - tick < config_.election_ticks - 2;
  }
  return false;
}

void Raft::fail_forwarded_reads() {
  for (const auto& [ctx, tick] : forwarded_reads_) failed_reads_.push_back(ctx);
  forwarded_reads_.clear();
}

void Raft::ack_read(const NodeId& from, uint64_t round) {
  Leader* l = leader_state();
  if (l == nullptr || !conf_.is_voter(from)) return;
  // An acknowledgement of heartbeat round `round` confirms our leadership as
  // of when it was sent, so it confirms every read registered up to then.
  size_t confirmed = 0;
  for (size_t i = 0; i < l->reads.size() && l->reads[i].seq <= round; ++i) {
    auto& acks = l->reads[i].acks;
    if (std::find(acks.begin(), acks.end(), from) == acks.end()) acks.push_back(from);
    size_t votes = 0;
    for (const NodeId& a : acks) votes += conf_.is_voter(a) ? 1 : 0;
    if (votes >= conf_.quorum()) confirmed = i + 1;
  }
  for (size_t i = 0; i < confirmed; ++i) {
    finish_read(l->reads.front());
    l->reads.pop_front();
  }
}

void Raft::finish_read(const ReadRequest& req) {
  if (req.from.is_zero()) {
    read_states_.push_back(ReadState{req.context, req.index});
    return;
  }
  Message m;
  m.kind = MessageKind::kReadIndexResp;
  m.to = req.from;
  m.context = req.context;
  m.index = req.index;
  send(std::move(m));
}

void Raft::fail_reads() {
  Leader* l = leader_state();
  if (l == nullptr) return;
  auto fail = [&](const ReadRequest& r) {
    if (r.from.is_zero()) {
      failed_reads_.push_back(r.context);
      return;
    }
    Message m;
    m.kind = MessageKind::kReadIndexResp;
    m.to = r.from;
    m.context = r.context;
    m.reject = true;
    send(std::move(m));
  };
  for (const ReadRequest& r : l->reads) fail(r);
  for (const ReadRequest& r : l->reads_before_commit) fail(r);
  l->reads.clear();
  l->reads_before_commit.clear();
}

void Raft::handle_read_index(const Message& m) {
  if (role() != Role::kLeader) {
    Message r;
    r.kind = MessageKind::kReadIndexResp;
    r.to = m.from;
    r.context = m.context;
    r.reject = true;
    send(std::move(r));
    return;
  }
  ReadRequest req;
  req.context = m.context;
  req.from = m.from;
  start_read(std::move(req));
}

void Raft::handle_read_index_response(const Message& m) {
  // Only answers to reads still waiting here (not failed meanwhile).
  if (forwarded_reads_.erase(m.context) == 0) return;
  if (m.reject) {
    failed_reads_.push_back(m.context);
  } else {
    read_states_.push_back(ReadState{m.context, m.index});
  }
}

}  // namespace shoal::raft
