// A member that the cluster left behind steps out of Raft and follows the
// log as an observer (node/cluster/replaced_voter.h says when).
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <memory>

#include "node/cluster/agent_cluster_impl.h"
#include "node/consensus/raft_recover.h"

namespace shoal::node {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void AgentCluster::Impl::probe_while_leaderless() {
  if (!raft || stepping_out) return;
  const TimePoint now = clock->now();
  if (leaderless.due(now, !leader.is_zero()))
    send_follow(follow.probes(now, follow_sources(), term));
}

void AgentCluster::Impl::step_out_of_raft(const std::string& why) {
  if (stepping_out || !raft) return;
  stepping_out = true;
  spdlog::warn(
      "cluster: {}. The cluster replaced this agent while it was away: moving its Raft log "
      "aside and following the log as an observer",
      why);
  // No frame reaches the host from now on; it stops on its own thread.
  raft_receiver.store(nullptr, std::memory_order_release);
  std::shared_ptr<RaftHost> host = std::move(raft);
  std::shared_ptr<RaftRpcReceiver> recv = std::move(receiver);
  is_leader = false;
  leader = NodeId();
  status.reset();
  asio::post(*rpc_io, [this, host, recv]() mutable {
    host->stop();
    recv.reset();
    host.reset();  // closes the log before its directory moves
    asio::post(io, [this] {
      const auto from = data_dir / kRaftDirName;
      // <data-dir>/raft.replaced-<n>, the first n not taken: never an
      // existing name. When it happened is in the log line below.
      std::filesystem::path to;
      std::error_code ec;
      for (int n = 1;; ++n) {
        to = data_dir / (std::string(kRaftDirName) + ".replaced-" + std::to_string(n));
        if (!std::filesystem::exists(to, ec)) break;
      }
      std::filesystem::rename(from, to, ec);
      if (ec) {
        // The log stays where it is: the next start would rejoin with it.
        // Go on as an observer anyway; the operator can move it by hand.
        spdlog::error("cluster: cannot move {} aside: {}", from.string(), ec.message());
      } else {
        spdlog::warn("cluster: the old Raft log is kept in {}", to.string());
      }
      machine.reset();  // the observer's replica is rebuilt from the cluster's log
      follow = FollowClient{};
      leaderless = LeaderlessProbe{};
      bootstrap_status = "replaced while away: following the log of cluster " + cluster_id;
      stepping_out = false;
      publish_meta();
      follow_step();
    });
  });
}

}  // namespace shoal::node
