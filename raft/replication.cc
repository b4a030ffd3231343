// Log replication (Raft §5.3): AppendEntries with batching and pipelining,
// fast backtracking on rejection, heartbeats, commitment by counting only
// entries of the current term (§5.4.2), and chunked InstallSnapshot (§7).
#include <algorithm>

#include "raft/raft.h"

namespace shoal::raft {

void Raft::append_local(std::vector<Entry> ents) {
  if (ents.empty()) return;
  const size_t n = ents.size();
  std::vector<const Entry*> confs;
  log_.append(std::move(ents));
  const Index last = log_.last_index();
  // Configuration entries take effect as soon as they are in the log.
  for (Index i = last - (n - 1); i <= last; i = i + 1) {
    auto e = log_.entries(i, i + 1, 1);
    if (e && !e->empty() && e->front().type == EntryType::kConfChange) on_conf_appended(e->front());
  }
  if (Leader* l = leader_state()) {
    l->progress[config_.id].update(last);
    if (maybe_commit()) on_committed_advanced();
  }
}

bool Raft::maybe_commit() {
  Leader* l = leader_state();
  if (l == nullptr || conf_.voters.empty()) return false;
  std::vector<Index> matches;
  matches.reserve(conf_.voters.size());
  for (const NodeId& v : conf_.voters) {
    auto it = l->progress.find(v);
    matches.push_back(it == l->progress.end() ? Index(0) : it->second.match);
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index candidate = matches[conf_.quorum() - 1];
  // §5.4.2: only an entry of the current term is committed by counting
  // replicas; earlier ones are committed indirectly, with it.
  if (candidate > log_.committed() && log_.term_or_zero(candidate) == term_) {
    log_.commit_to(candidate);
    return true;
  }
  return false;
}

void Raft::on_committed_advanced() {
  Leader* l = leader_state();
  if (l == nullptr) return;
  if (!l->reads_before_commit.empty() && log_.term_or_zero(log_.committed()) == term_) {
    std::vector<ReadRequest> waiting = std::move(l->reads_before_commit);
    l->reads_before_commit.clear();
    for (ReadRequest& r : waiting) start_read(std::move(r));
    l = leader_state();
    if (l == nullptr) return;
  }
  // Followers learn the new commit index with the next append. take_ready()
  // sends one (empty if need be) to every follower that this Ready's other
  // appends did not already tell, so that they apply without waiting for a
  // heartbeat, and under load no extra message goes out per commit.
  commit_broadcast_pending_ = true;
  // A leader that removed itself steps down only after telling the others.
  maybe_step_down_after_removal();
}

void Raft::broadcast_append() {
  Leader* l = leader_state();
  if (l == nullptr) return;
  for (auto& [id, pr] : l->progress) {
    if (id == config_.id) continue;
    send_append(id, pr, /*send_if_empty=*/false);
  }
}

uint64_t Raft::broadcast_heartbeat() {
  Leader* l = leader_state();
  if (l == nullptr) return 0;
  const uint64_t context = ++l->round;
  l->round_ticks.emplace_back(context, ticks_);
  while (l->round_ticks.size() > static_cast<size_t>(4 * config_.election_ticks)) {
    l->round_ticks.pop_front();
  }
  for (auto& [id, pr] : l->progress) {
    if (id == config_.id) continue;
    Message m;
    m.kind = MessageKind::kHeartbeat;
    m.to = id;
    // Never more than the follower is known to hold: its log beyond match
    // may still differ from ours.
    m.commit = std::min(pr.match, log_.committed());
    m.context = context;
    send(std::move(m));
  }
  return context;
}

void Raft::maybe_send_timeout_now(const NodeId& to, const Progress& pr) {
  Leader* l = leader_state();
  if (l == nullptr || l->transfer_to != to || pr.match != log_.last_index()) return;
  Message t;
  t.kind = MessageKind::kTimeoutNow;
  t.to = to;
  send(std::move(t));
  l->lease_revoked = true;
}

bool Raft::send_append(const NodeId& to, Progress& pr, bool send_if_empty) {
  if (pr.paused(config_.max_inflight)) return false;
  const Index prev = pr.next - 1;
  auto prev_term = log_.term(prev);
  Result<std::vector<Entry>> ents = std::vector<Entry>{};
  if (prev_term) ents = log_.entries(pr.next, log_.last_index() + 1, config_.max_msg_bytes);
  if (!prev_term || !ents) {
    // What the follower needs is compacted away: send the snapshot.
    auto snap = store_.snapshot();
    if (!snap || snap->empty()) return false;
    pr.become_snapshot(std::make_shared<const Snapshot>(std::move(*snap)));
    send_snapshot_chunk(to, pr);
    return true;
  }
  if (ents->empty() && !send_if_empty) return false;
  Message m;
  m.kind = MessageKind::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  pr.commit_sent = m.commit;
  if (!ents->empty()) {
    const Index last = ents->back().index;
    if (pr.state == Progress::State::kReplicate) {
      // Pipelining: assume it arrives; a rejection brings us back to probe.
      pr.next = last + 1;
      pr.inflights.push_back(last);
    } else {
      pr.probe_sent = true;
    }
  } else if (pr.state == Progress::State::kProbe) {
    pr.probe_sent = true;
  }
  m.entries = std::move(*ents);
  send(std::move(m));
  return true;
}

void Raft::send_snapshot_chunk(const NodeId& to, Progress& pr) {
  SHOAL_CHECK(pr.snapshot != nullptr);
  const Snapshot& s = *pr.snapshot;
  const uint64_t off = std::min<uint64_t>(pr.snapshot_acked, s.data.size());
  const uint64_t len = std::min<uint64_t>(config_.snapshot_chunk_bytes, s.data.size() - off);
  Message m;
  m.kind = MessageKind::kSnapshot;
  m.to = to;
  m.snapshot = s.meta;
  m.offset = off;
  m.data.assign(s.data.begin() + static_cast<std::ptrdiff_t>(off),
                s.data.begin() + static_cast<std::ptrdiff_t>(off + len));
  m.done = off + len == s.data.size();
  pr.snapshot_idle_ticks = 0;
  send(std::move(m));
}

void Raft::handle_append(const Message& m) {
  Message r;
  r.kind = MessageKind::kAppendResp;
  r.to = m.from;
  if (m.index < log_.committed()) {
    // Old news (a duplicate or reordered append): what we committed matches.
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  const Index old_last = log_.last_index();
  std::optional<Index> truncated;
  auto last = log_.maybe_append(m.index, m.log_term, m.entries, truncated);
  if (!last) {
    r.reject = true;
    r.index = m.index;
    // The §5.3 optimisation, both ends: suggest the last entry that could
    // still match (term <= the leader's prev term; entries up to the commit
    // point are known to match) and say its term; the leader skips its own
    // entries of later terms in turn. Usually one round trip per divergence.
    const Index j = std::max(log_.find_conflict_by_term(m.index, m.log_term), log_.committed());
    r.reject_hint = j + 1;
    r.conflict_term = log_.term_or_zero(j);
    send(std::move(r));
    return;
  }
  if (truncated) on_log_truncated(*truncated);
  const Index first_new = truncated ? *truncated : old_last + 1;
  for (const Entry& e : m.entries) {
    if (e.index >= first_new && e.type == EntryType::kConfChange) on_conf_appended(e);
  }
  log_.commit_to(std::min(m.commit, *last));
  r.index = *last;
  send(std::move(r));
}

void Raft::handle_heartbeat(const Message& m) {
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message r;
  r.kind = MessageKind::kHeartbeatResp;
  r.to = m.from;
  r.context = m.context;
  send(std::move(r));
}

void Raft::handle_snapshot(const Message& m) {
  Message r;
  r.kind = MessageKind::kSnapshotResp;
  r.to = m.from;
  const SnapshotMeta& meta = m.snapshot;
  if (meta.index <= log_.committed()) {
    incoming_snapshot_.reset();
    r.done = true;
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  // Two leaders' images of the same point need not be byte-identical: an
  // image is only ever assembled from one sender in one term.
  if (!incoming_snapshot_ || incoming_snapshot_->meta != meta || incoming_term_ != m.term ||
      incoming_from_ != m.from) {
    if (m.offset != 0) {
      incoming_snapshot_.reset();
      r.offset = 0;  // we hold nothing of this image: start over
      send(std::move(r));
      return;
    }
    incoming_snapshot_ = Snapshot{meta, {}};
    incoming_term_ = m.term;
    incoming_from_ = m.from;
  }
  std::vector<uint8_t>& buf = incoming_snapshot_->data;
  if (m.offset != buf.size()) {
    r.offset = buf.size();  // resume where we are
    send(std::move(r));
    return;
  }
  buf.insert(buf.end(), m.data.begin(), m.data.end());
  if (!m.done) {
    r.offset = buf.size();
    send(std::move(r));
    return;
  }
  Snapshot snap = std::move(*incoming_snapshot_);
  incoming_snapshot_.reset();
  if (log_.match_term(meta.index, meta.term)) {
    // We hold the entry the snapshot ends at: keep our log, just commit.
    log_.commit_to(meta.index);
  } else {
    log_.restore(std::move(snap));
    base_conf_ = meta.conf;
    conf_entries_.clear();
    rebuild_conf();
  }
  r.done = true;
  r.index = meta.index;
  send(std::move(r));
}

Progress* Raft::responder_progress(const NodeId& from) {
  Leader* l = leader_state();
  if (l == nullptr) return nullptr;
  auto it = l->progress.find(from);
  if (it == l->progress.end()) return nullptr;
  it->second.recent_active = true;  // heard from it (check-quorum)
  return &it->second;
}

void Raft::handle_append_response(const Message& m) {
  Progress* found = responder_progress(m.from);
  if (found == nullptr) return;
  Progress& pr = *found;
  if (m.reject) {
    if (m.index <= pr.match) return;                                            // stale
    if (pr.state == Progress::State::kProbe && m.index + 1 != pr.next) return;  // stale
    if (pr.state == Progress::State::kSnapshot) return;
    // The follower's entry at hint - 1 has conflict_term: our entries there
    // with a later term cannot match it, so probe below them.
    Index next = m.reject_hint;
    if (next.value() > 0) next = log_.find_conflict_by_term(next - 1, m.conflict_term) + 1;
    next = std::clamp(next, pr.match + 1, m.index);
    pr.become_probe();
    pr.next = next;
    send_append(m.from, pr, /*send_if_empty=*/true);
    return;
  }
  const bool was_paused = pr.paused(config_.max_inflight);
  // Whether or not match moved: the transfer target may have caught up
  // through a snapshot and an empty probe.
  const bool moved = pr.update(m.index);
  maybe_send_timeout_now(m.from, pr);
  if (moved) {
    if (pr.state == Progress::State::kProbe) pr.become_replicate();
    if (pr.state == Progress::State::kSnapshot && pr.match >= pr.snapshot->meta.index) {
      pr.become_probe();
    }
    if (maybe_commit()) {
      on_committed_advanced();
      return;
    }
  } else if (!was_paused) {
    // A duplicate acknowledgement: nothing new to send unless we were paused.
  }
  // Fill the pipeline (every message carries at most max_msg_bytes); the
  // commit above may have ended our leadership or removed the follower.
  Progress* again = responder_progress(m.from);
  if (again == nullptr) return;
  while (send_append(m.from, *again, /*send_if_empty=*/false)) {
  }
}

void Raft::handle_heartbeat_response(const Message& m) {
  Progress* found = responder_progress(m.from);
  if (found == nullptr) return;
  Progress& pr = *found;
  pr.probe_sent = false;
  // A healthy pipeline acknowledges well within half an election timeout
  // even behind a slow disk; longer means appends were lost.
  const int stall_limit = std::max(3 * config_.heartbeat_ticks, config_.election_ticks / 2);
  if (pr.state == Progress::State::kReplicate && pr.match < log_.last_index() &&
      pr.stall_ticks >= stall_limit) {
    // Appends were lost (their acknowledgements never came): resend from
    // what the follower is known to hold.
    pr.become_probe();
  }
  // A follower that is behind gets an append now; in the replicate state
  // an empty one at next - 1 if nothing new is left to send, so that a
  // follower that lost appends rejects it and is probed from its real end
  // within one heartbeat round trip (as etcd-raft does).
  if (pr.match < log_.last_index()) {
    send_append(m.from, pr, /*send_if_empty=*/pr.state == Progress::State::kReplicate);
  }
  if (m.context != 0) {
    uint64_t& acked = leader_state()->acked_round[m.from];
    acked = std::max(acked, m.context);
    ack_read(m.from, m.context);
  }
}

void Raft::handle_snapshot_response(const Message& m) {
  Progress* found = responder_progress(m.from);
  if (found == nullptr) return;
  Progress& pr = *found;
  if (pr.state != Progress::State::kSnapshot) return;
  if (m.done) {
    pr.update(m.index);
    pr.become_probe();
    maybe_send_timeout_now(m.from, pr);
    send_append(m.from, pr, /*send_if_empty=*/true);
    return;
  }
  pr.snapshot_acked = std::min<uint64_t>(m.offset, pr.snapshot->data.size());
  send_snapshot_chunk(m.from, pr);
}

}  // namespace shoal::raft
