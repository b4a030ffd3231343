// FollowClient: see follow_client.h.
#include "node/cluster/follow_client.h"

#include <chrono>
#include <utility>

namespace shoal::node {

namespace {

// Probes not yet answered that an observer remembers; beyond, the answers
// were lost and the set starts again.
constexpr size_t kMaxProbes = 64;

}  // namespace

std::vector<FollowClient::Send> FollowClient::step(TimePoint now, std::span<const NodeId> voters,
                                                   const NodeId& self, uint64_t applied) {
  std::vector<Send> out;
  if (auto next = plan_.next(now, voters, self)) {
    FollowRequest req;
    req.id = next->id;
    req.after = applied;
    req.max_bytes = kFollowMaxBytes;
    req.snapshot_index = snapshot_index_;
    req.snapshot_offset = snapshot_.size();
    req.wait_ms = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next->wait).count());
    req.term = known_.term;
    out.push_back(Send{next->to, req});
  }
  // take_probe_wanted() clears its flag: call it whatever the other says.
  const bool source_lost = plan_.take_probe_wanted();
  if (source_lost || std::exchange(probe_leader_lost_, false)) {
    std::vector<Send> p = probes(now, voters, known_.term);
    out.insert(out.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
  }
  return out;
}

std::vector<FollowClient::Send> FollowClient::probes(TimePoint now, std::span<const NodeId> voters,
                                                     uint64_t term) {
  std::vector<Send> out;
  if (probes_.size() > kMaxProbes) probes_.clear();
  for (const NodeId& v : voters) {
    if (v == plan_.source() || plan_.avoided(v, now)) continue;
    FollowRequest probe;
    probe.id = plan_.next_probe_id();
    probe.max_bytes = 0;
    probe.term = term;
    probes_.insert(probe.id);
    out.push_back(Send{v, probe});
  }
  return out;
}

void FollowClient::failed(const NodeId& peer, TimePoint now) {
  if (peer.is_zero()) return;
  if (peer != plan_.source() && peer == known_.leader) {
    // The forward connection to the leader broke: it is likely gone and
    // the voters will elect another; ask them rather than wait for the
    // source's long poll to bring the news.
    probe_leader_lost_ = true;
  }
  plan_.failed(peer, now);
}

void FollowClient::adopt_failed(TimePoint) {
  // Forget what that answer taught too: the agent took none of it, and the
  // next answer must bring it again as news.
  known_ = Known{};
}

void FollowClient::restore_failed(TimePoint now) { plan_.failed(snapshot_from_, now); }

FollowClient::Outcome FollowClient::on_response(const NodeId& peer, FollowResponse r, TimePoint now,
                                                uint64_t applied) {
  Outcome out;
  const bool ours =
      r.cluster_id.empty() || known_.cluster_id.empty() || r.cluster_id == known_.cluster_id;
  auto learn = [&] {
    out.learned = r.leader != known_.leader || r.term != known_.term || !(r.conf == known_.conf);
    known_.leader = r.leader;
    known_.term = r.term;
    known_.conf = std::move(r.conf);
  };
  if (take_probe(r.id)) {
    // A probe: only who leads. A newer term wins; at the same term, a
    // leader where none was known.
    if (r.error.empty() && ours && !known_.cluster_id.empty() &&
        (r.term > known_.term ||
         (r.term == known_.term && known_.leader.is_zero() && !r.leader.is_zero()))) {
      learn();
    }
    return out;
  }
  const bool error = !r.error.empty() || r.cluster_id.empty() || !ours;
  const bool behind = !error && r.term < known_.term;
  const bool news = !error && !behind && (r.term > known_.term || r.leader != known_.leader);
  if (plan_.answered(r.id, now, news || r.has_snapshot || !r.entries.empty(), error, behind) ==
      FollowPlan::Answer::kIgnored) {
    out.ignored = true;
    return out;
  }
  if (!ours) {
    out.other_cluster = true;
    out.error = "it belongs to cluster " + r.cluster_id + ", this agent to " + known_.cluster_id;
  } else if (!r.error.empty()) {
    out.error = r.error;
  }
  if (error || behind) return out;
  if (known_.cluster_id.empty()) {
    known_.cluster_id = r.cluster_id;
    out.adopt_cluster_id = r.cluster_id;
  }
  learn();
  known_.commit = r.commit;
  if (r.has_snapshot) {
    if (r.snapshot_meta.index.value() != snapshot_index_ || r.snapshot_offset != snapshot_.size()) {
      snapshot_.clear();
      snapshot_index_ = r.snapshot_meta.index.value();
      // A chunk from the middle of a transfer we do not have: the next
      // request asks again from offset 0.
      if (r.snapshot_offset != 0) return out;
    }
    snapshot_.insert(snapshot_.end(), r.snapshot_chunk.begin(), r.snapshot_chunk.end());
    if (snapshot_.size() >= r.snapshot_size) {
      out.snapshot = std::move(snapshot_);
      out.snapshot_index = snapshot_index_;
      snapshot_from_ = peer;
      snapshot_ = {};
      snapshot_index_ = 0;
    }
    return out;
  }
  uint64_t next = applied + 1;
  for (raft::Entry& e : r.entries) {
    if (e.index.value() < next) continue;
    if (e.index.value() != next) break;  // a gap: the next request asks again
    out.entries.push_back(std::move(e));
    ++next;
  }
  return out;
}

}  // namespace shoal::node
