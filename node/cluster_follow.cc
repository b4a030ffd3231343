// The log that observers follow (node/cluster_rpc.h, follow): voters serve
// it, holding a caught-up observer's request until there is something new
// (a long poll); observers choose their source with a FollowPlan
// (node/follow_plan.h), which gives a source up as soon as its connection
// breaks or it falls silent, instead of waiting for gossip to call it dead.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/agent_cluster_impl.h"
#include "node/replaced_voter.h"

namespace shoal::node {

using namespace std::chrono_literals;

namespace {

constexpr uint32_t kFollowMaxBytes = 4u << 20;
constexpr size_t kSnapshotChunk = 4u << 20;
// Probes not yet answered that an observer remembers.
constexpr size_t kMaxProbes = 64;

}  // namespace

// ---- serving (voters and learners) ----

FollowView AgentCluster::Impl::follow_view() const {
  return FollowView{machine.applied(), term, leader, raft != nullptr && !stopped};
}

void AgentCluster::Impl::serve_follow(const FollowRequest& req, RpcReply reply) {
  const FollowView view = follow_view();
  if (!held_follows.should_hold(req, view)) {
    answer_follow(req, std::move(reply));
    return;
  }
  held_follows.hold(req, std::move(reply), clock->now(), view);
  held_follow_count.store(held_follows.size(), std::memory_order_release);
  arm_held_follow_timer();
}

void AgentCluster::Impl::answer_follow(const FollowRequest& req, RpcReply reply) {
  auto send = [this, reply](FollowResponse resp) { send_reply(reply, encode_frame(resp)); };
  FollowResponse base;
  base.id = req.id;
  base.cluster_id = cluster_id;
  base.leader = leader;
  base.term = term;
  base.conf = conf;
  if (!raft) {
    base.error = "this agent keeps no Raft log (it is an observer)";
    send(std::move(base));
    return;
  }
  // `conf` comes from the same status() as conf_change_pending.
  base.conf_committed = status.has_value() && !status->conf_change_pending;
  if (req.probe()) {
    base.commit = std::max(known_commit(), machine.applied());
    send(std::move(base));
    return;
  }
  const size_t max_bytes = std::min<uint32_t>(req.max_bytes, kFollowMaxBytes);
  raft->read_committed(
      req.after, max_bytes,
      [req, base = std::move(base), send](Result<LogFollowBatch> batch) mutable {
        if (!batch) {
          base.error = batch.status().message();
          send(std::move(base));
          return;
        }
        base.commit = batch->commit;
        if (batch->snapshot) {
          const raft::Snapshot& snap = *batch->snapshot;
          const uint64_t offset =
              req.snapshot_index == snap.meta.index.value() ? req.snapshot_offset : 0;
          if (offset > snap.data.size()) {
            base.error = "snapshot offset beyond its size";
            send(std::move(base));
            return;
          }
          const size_t n = std::min<size_t>(kSnapshotChunk, snap.data.size() - offset);
          base.has_snapshot = true;
          base.snapshot_meta = snap.meta;
          base.snapshot_size = snap.data.size();
          base.snapshot_offset = offset;
          base.snapshot_chunk.assign(snap.data.begin() + static_cast<std::ptrdiff_t>(offset),
                                     snap.data.begin() + static_cast<std::ptrdiff_t>(offset + n));
        } else {
          base.entries = std::move(batch->entries);
        }
        send(std::move(base));
      });
}

void AgentCluster::Impl::wake_held_follows() {
  if (held_follows.empty()) return;
  auto due = stopped ? held_follows.take_all() : held_follows.take_due(clock->now(), follow_view());
  held_follow_count.store(held_follows.size(), std::memory_order_release);
  for (auto& d : due) {
    if (stopped) {
      FollowResponse r;
      r.id = d.req.id;
      r.error = "the agent is shutting down";
      send_reply(d.reply, encode_frame(r));
    } else {
      answer_follow(d.req, std::move(d.reply));
    }
  }
  arm_held_follow_timer();
}

void AgentCluster::Impl::arm_held_follow_timer() {
  const auto first = held_follows.next_deadline();
  if (!first || stopped) {
    held_follow_timer.cancel();
    return;
  }
  held_follow_timer.expires_after(std::max(*first - clock->now(), Duration(0)));
  held_follow_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped) wake_held_follows();
  });
}

// ---- following (observers) ----

std::vector<NodeId> AgentCluster::Impl::follow_sources() const {
  std::vector<NodeId> out;
  for (const auto& [id, p] : peers) {
    const bool voter = p.role == "voter" || conf.is_voter(id);
    if (id != identity.id && voter && p.alive && p.rpc_port != 0 &&
        (cluster_id.empty() || p.cluster_id.empty() || p.cluster_id == cluster_id) &&
        rpc_endpoint(id)) {
      out.push_back(id);
    }
  }
  return out;  // peers is a map: in id order
}

void AgentCluster::Impl::follow_step() {
  if (raft || stopped) return;
  const std::vector<NodeId> voters = follow_sources();
  const TimePoint now = clock->now();
  if (auto next = follow.plan.next(now, voters, identity.id)) {
    if (auto to = rpc_endpoint(next->to)) {
      FollowRequest req;
      req.id = next->id;
      req.after = machine.applied();
      req.max_bytes = kFollowMaxBytes;
      req.snapshot_index = follow.snapshot_index;
      req.snapshot_offset = follow.snapshot.size();
      req.wait_ms = static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(next->wait).count());
      req.term = term;
      send_rpc(*to, encode_frame(req), [this, source = next->to](const Status&) {
        follow.plan.failed(source, clock->now());
        follow_step();
      });
    }
  }
  if (follow.plan.take_probe_wanted()) send_follow_probes(voters);
}

void AgentCluster::Impl::send_follow_probes(const std::vector<NodeId>& voters) {
  const TimePoint now = clock->now();
  if (follow.probes.size() > kMaxProbes) follow.probes.clear();  // lost answers
  for (const NodeId& v : voters) {
    if (v == follow.plan.source() || follow.plan.avoided(v, now)) continue;
    auto to = rpc_endpoint(v);
    if (!to) continue;
    FollowRequest probe;
    probe.id = follow.plan.next_probe_id();
    probe.max_bytes = 0;
    probe.term = term;
    follow.probes.insert(probe.id);
    send_rpc(*to, encode_frame(probe),
             [this, v](const Status&) { follow.plan.failed(v, clock->now()); });
  }
}

void AgentCluster::Impl::follow_peer_failed(const boost::asio::ip::tcp::endpoint& peer) {
  if (raft) return;
  const TimePoint now = clock->now();
  if (auto src = rpc_endpoint(follow.plan.source()); src && *src == peer) {
    follow.plan.failed(follow.plan.source(), now);
  } else if (auto l = rpc_endpoint(leader); l && *l == peer && !leader.is_zero()) {
    // The forward connection to the leader broke: it is likely gone, and
    // the voters will elect another; ask them rather than wait for the
    // source's long poll.
    follow.plan.failed(leader, now);
    std::vector<NodeId> voters = follow_sources();
    send_follow_probes(voters);
  }
  follow_step();
}

void AgentCluster::Impl::on_follow_response(const NodeId& peer, FollowResponse r) {
  if (raft) {
    // A member asked who leads because it has heard from no leader.
    if (follow.probes.erase(r.id) == 0 || !r.error.empty() || !status || stepping_out) return;
    if (!cluster_id.empty() && r.cluster_id != cluster_id) return;
    const LogPosition self{identity.id, status->term, status->last_index};
    const ClusterReport report{peer, r.leader, r.term, r.commit, r.conf, r.conf_committed};
    if (auto why = replaced_by_cluster(self, report)) step_out_of_raft(*why);
    return;
  }
  const TimePoint now = clock->now();
  const bool ours = r.cluster_id.empty() || cluster_id.empty() || r.cluster_id == cluster_id;
  if (follow.probes.erase(r.id) > 0) {
    // A probe: only who leads. A newer term wins; at the same term, a
    // leader where none was known.
    if (r.error.empty() && ours && !cluster_id.empty() &&
        (r.term > term || (r.term == term && leader.is_zero() && !r.leader.is_zero()))) {
      leader = r.leader;
      term = r.term;
      conf = r.conf;
      release_forwards_to_old_leaders();
      check_leader_waiters();
    }
    return;
  }
  const NodeId from = follow.plan.source();
  const bool error = !r.error.empty() || r.cluster_id.empty() || !ours;
  const bool behind = !error && r.term < term;
  const bool news = !error && !behind && (r.term > term || r.leader != leader);
  if (follow.plan.answered(r.id, now, news || r.has_snapshot || !r.entries.empty(), error,
                           behind) == FollowPlan::Answer::kIgnored) {
    return;
  }
  if (!r.error.empty()) spdlog::debug("follow: {} answered: {}", name_of(from), r.error);
  if (!ours) {
    spdlog::warn("follow: {} belongs to cluster {}, this agent to {}: ignored", name_of(from),
                 r.cluster_id, cluster_id);
  }
  if (error || behind) {
    follow_step();
    return;
  }
  if (cluster_id.empty()) {
    if (Status st = adopt_cluster_id(r.cluster_id); !st.is_ok()) {
      spdlog::error("follow: {}", st.message());
      follow_step();
      return;
    }
  }
  leader = r.leader;
  term = r.term;
  conf = r.conf;
  follow.commit = r.commit;
  release_forwards_to_old_leaders();
  check_leader_waiters();
  if (r.has_snapshot) {
    if (r.snapshot_meta.index.value() != follow.snapshot_index ||
        r.snapshot_offset != follow.snapshot.size()) {
      follow.snapshot.clear();
      follow.snapshot_index = r.snapshot_meta.index.value();
      if (r.snapshot_offset != 0) {
        follow_step();  // ask again from the chunk at offset 0
        return;
      }
    }
    follow.snapshot.insert(follow.snapshot.end(), r.snapshot_chunk.begin(), r.snapshot_chunk.end());
    if (follow.snapshot.size() >= r.snapshot_size) {
      if (Status st = machine.restore_image(follow.snapshot); !st.is_ok()) {
        spdlog::error("follow: cannot restore the snapshot at {}: {}", follow.snapshot_index,
                      st.message());
        follow.plan.failed(from, now);  // try another voter's, not this one again at once
      } else {
        spdlog::info("follow: restored the snapshot at index {}", follow.snapshot_index);
      }
      follow.snapshot.clear();
      follow.snapshot.shrink_to_fit();
      follow.snapshot_index = 0;
    }
    follow_step();
    return;
  }
  for (const raft::Entry& e : r.entries) {
    if (e.index.value() <= machine.applied()) continue;
    if (e.index.value() != machine.applied() + 1) break;  // a gap: ask again
    machine.apply(e);
  }
  follow_step();
}

}  // namespace shoal::node
