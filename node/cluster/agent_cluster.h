// The cluster side of the agent (DESIGN.md §2, §4): the encrypted RPC port,
// cluster formation (--bootstrap-expect), the Raft host and the replicated
// state on voters and learners, the followed log on observers, autopilot and
// the node registry on the leader, and the HTTP endpoints that need the
// cluster:
//
//   GET  /v1/status                GET  /v1/raft/peers
//   POST /v1/raft/transfer-leader  GET/PUT/DELETE /v1/kv/<key>
//   GET  /v1/snapshot
//
// Any agent answers any request: what needs the leader (writes, linearizable
// reads on observers, transfer-leader) is forwarded to it over RPC
// (node/cluster/cluster_rpc.h); with no leader known the answer is 503 with a
// Retry-After.
//
// Threads: everything here runs on the agent's io_context thread, except the
// Raft host's own loop thread (node/consensus/raft_host.h), whose callbacks post back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "node/config/agent_config.h"
#include "node/host/node_identity.h"
#include "node/http/http_router.h"
#include "node/membership/agent_gossip.h"

namespace shoal::node {

// <data-dir>/cluster_id: the cluster this agent belongs to, once known.
inline constexpr std::string_view kClusterIdFile = "cluster_id";

class AgentCluster {
 public:
  AgentCluster(boost::asio::io_context& io, const AgentConfig& config, const NodeIdentity& identity,
               std::filesystem::path data_dir, AgentGossip& gossip);
  ~AgentCluster();
  AgentCluster(const AgentCluster&) = delete;
  AgentCluster& operator=(const AgentCluster&) = delete;

  // After gossip started: listens on --rpc-port, reopens Raft state if the
  // data dir has some, and starts the formation / follow / autopilot loop.
  [[nodiscard]] Status start();
  // `router` answers forwarded requests; it must outlive the cluster's use.
  void add_routes(const std::shared_ptr<Router>& router);
  // The cluster's part of GET /v1/agent/self and /v1/metrics.
  void add_self(nlohmann::json& self) const;
  void write_metrics(class MetricsText& m) const;
  // Stops Raft, then the RPC server and client. Idempotent.
  void stop();
  // Test fault power-cut (node/host/test_faults.h): drops what the Raft log has
  // not synced and ends the process. Without that fault it does nothing.
  void power_cut_and_exit();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::node
