// The log that observers follow (node/cluster/cluster_rpc.h, follow): voters serve
// it, holding a caught-up observer's request until there is something new
// (a long poll); observers choose their source with a FollowPlan
// (node/cluster/follow_plan.h), which gives a source up as soon as its connection
// breaks or it falls silent, instead of waiting for gossip to call it dead.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/cluster/agent_cluster_impl.h"
#include "node/cluster/follow_serve.h"
#include "node/cluster/replaced_voter.h"

namespace shoal::node {

using namespace std::chrono_literals;

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
  FollowServerView view;
  view.cluster_id = cluster_id;
  view.leader = leader;
  view.term = term;
  view.conf = conf;
  view.has_log = raft != nullptr;
  // `conf` comes from the same status() as conf_change_pending.
  view.conf_committed = status.has_value() && !status->conf_change_pending;
  view.commit = std::max(known_commit(), machine.applied());
  FollowAnswer a = follow_answer(req, view);
  if (a.read_bytes == 0) {
    send_reply(reply, encode_frame(a.response));
    return;
  }
  raft->read_committed(
      req.after, a.read_bytes,
      [this, req, reply, resp = std::move(a.response)](Result<LogFollowBatch> batch) mutable {
        fill_follow_answer(req, std::move(batch), resp);
        send_reply(reply, encode_frame(resp));
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

void AgentCluster::Impl::send_follow(std::vector<FollowClient::Send> sends) {
  for (FollowClient::Send& s : sends) {
    auto to = rpc_endpoint(s.to);
    if (!to) continue;
    const bool probe = s.req.probe();
    send_rpc(*to, encode_frame(s.req), [this, peer = s.to, probe](const Status&) {
      follow.failed(peer, clock->now());
      if (!probe) follow_step();
    });
  }
}

void AgentCluster::Impl::follow_step() {
  if (raft || stopped) return;
  follow.set_cluster_id(cluster_id);
  send_follow(follow.step(clock->now(), follow_sources(), identity.id, machine.applied()));
}

void AgentCluster::Impl::follow_peer_failed(const boost::asio::ip::tcp::endpoint& peer) {
  if (raft) return;
  for (const NodeId& id : {follow.plan().source(), follow.known().leader}) {
    if (auto ep = rpc_endpoint(id); ep && *ep == peer && !id.is_zero()) {
      follow.failed(id, clock->now());
      break;
    }
  }
  follow_step();
}

void AgentCluster::Impl::on_follow_response(const NodeId& peer, FollowResponse r) {
  if (raft) {
    // A member asked who leads because it has heard from no leader.
    if (!follow.take_probe(r.id) || !r.error.empty() || !status || stepping_out) return;
    if (!cluster_id.empty() && r.cluster_id != cluster_id) return;
    const LogPosition self{identity.id, status->term, status->last_index};
    const ClusterReport report{peer, r.leader, r.term, r.commit, r.conf, r.conf_committed};
    if (auto why = replaced_by_cluster(self, report)) step_out_of_raft(*why);
    return;
  }
  const TimePoint now = clock->now();
  FollowClient::Outcome out = follow.on_response(peer, std::move(r), now, machine.applied());
  if (out.ignored) return;
  if (out.other_cluster) {
    spdlog::warn("follow: {} ignored: {}", name_of(peer), out.error);
  } else if (!out.error.empty()) {
    spdlog::debug("follow: {} answered: {}", name_of(peer), out.error);
  }
  if (out.adopt_cluster_id) {
    if (Status st = adopt_cluster_id(*out.adopt_cluster_id); !st.is_ok()) {
      spdlog::error("follow: {}", st.message());
      follow.adopt_failed(now);
      follow_step();
      return;
    }
  }
  if (out.learned) {
    leader = follow.known().leader;
    term = follow.known().term;
    conf = follow.known().conf;
    release_forwards_to_old_leaders();
    check_leader_waiters();
  }
  if (out.snapshot) {
    if (Status st = machine.restore_image(*out.snapshot); !st.is_ok()) {
      spdlog::error("follow: cannot restore the snapshot at {}: {}", out.snapshot_index,
                    st.message());
      follow.restore_failed(now);  // try another voter's, not this one again at once
    } else {
      spdlog::info("follow: restored the snapshot at index {}", out.snapshot_index);
    }
  }
  for (const raft::Entry& e : out.entries) machine.apply(e);
  follow_step();
}

}  // namespace shoal::node
