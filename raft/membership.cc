// Membership: one server at a time (thesis §4.1). A configuration entry
// takes effect on every node as soon as it is in its log, committed or not;
// truncating it reverts to the previous one. A leader accepts a new change
// only once the previous one committed and it committed an entry of its own
// term (the fix to the single-server algorithm, thesis §4.1 and the 2015
// raft-dev erratum). Leader transfer (§3.10) is here too.
#include <algorithm>

#include "raft/codec.h"
#include "raft/raft.h"

namespace shoal::raft {

Result<std::pair<Index, Term>> Raft::propose_conf_change(const ConfChange& cc) {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: propose between take_ready() and advance()");
  Leader* l = leader_state();
  if (l == nullptr) return Status::unavailable("raft: not the leader");
  if (l->transfer_to) return Status::unavailable("raft: leadership transfer in progress");
  if (l->pending_conf_index > log_.committed()) {
    return Status::unavailable("raft: an earlier configuration change is not committed yet");
  }
  auto next = apply_conf_change(conf_, cc);
  if (!next) return Status::invalid_argument("raft: configuration change does not apply");
  Entry e{term_, log_.last_index() + 1, EntryType::kConfChange, codec::encode(*next)};
  const Index index = e.index;
  l->pending_conf_index = index;
  std::vector<Entry> ents;
  ents.push_back(std::move(e));
  append_local(std::move(ents));
  broadcast_append();
  return std::make_pair(index, term_);
}

void Raft::on_conf_appended(const Entry& e) {
  auto cs = codec::decode_conf_state(e.data);
  SHOAL_CHECK_MSG(cs.is_ok(), "raft: a configuration entry in the log does not decode");
  conf_entries_.emplace_back(e.index, std::move(*cs));
  conf_ = conf_entries_.back().second;
  sync_progress();
}

void Raft::on_log_truncated(Index from) {
  while (!conf_entries_.empty() && conf_entries_.back().first >= from) conf_entries_.pop_back();
  rebuild_conf();
}

void Raft::rebuild_conf() {
  conf_ = conf_entries_.empty() ? base_conf_ : conf_entries_.back().second;
  sync_progress();
}

void Raft::sync_progress() {
  Leader* l = leader_state();
  if (l == nullptr) return;
  auto add = [&](const NodeId& id, bool learner) {
    auto [it, fresh] = l->progress.try_emplace(id);
    if (fresh) {
      it->second.next = log_.last_index() + 1;
      it->second.recent_active = true;  // give a new member one check-quorum period
      if (id == config_.id) it->second.match = log_.last_index();
    }
    it->second.is_learner = learner;
  };
  for (const NodeId& v : conf_.voters) add(v, false);
  for (const NodeId& v : conf_.learners) add(v, true);
  add(config_.id, !conf_.is_voter(config_.id));
  for (auto it = l->progress.begin(); it != l->progress.end();) {
    if (it->first != config_.id && !conf_.contains(it->first)) {
      it = l->progress.erase(it);
    } else {
      ++it;
    }
  }
  if (l->transfer_to && !conf_.is_voter(*l->transfer_to)) l->transfer_to.reset();
}

void Raft::maybe_step_down_after_removal() {
  Leader* l = leader_state();
  if (l == nullptr || conf_.is_voter(config_.id)) return;
  // A leader that removed itself keeps leading (without counting itself)
  // until the change commits, then steps down (thesis §4.2.2).
  if (conf_entries_.empty() || conf_entries_.back().first <= log_.committed()) {
    become_follower(term_, NodeId());
  }
}

Status Raft::transfer_leader(const NodeId& to) {
  SHOAL_CHECK_MSG(!ready_outstanding_, "raft: transfer between take_ready() and advance()");
  Leader* l = leader_state();
  if (l == nullptr) return Status::unavailable("raft: not the leader");
  if (to == config_.id) return Status::ok();
  if (!conf_.is_voter(to)) return Status::invalid_argument("raft: transfer target is not a voter");
  if (l->transfer_to == to) return Status::ok();
  l->transfer_to = to;
  l->transfer_elapsed = 0;  // it must finish within an election timeout
  Progress& pr = l->progress[to];
  if (pr.match == log_.last_index()) {
    maybe_send_timeout_now(to, pr);
  } else {
    send_append(to, pr, /*send_if_empty=*/true);
  }
  return Status::ok();
}

}  // namespace shoal::raft
