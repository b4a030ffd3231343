// The cluster endpoints' request and response shapes (DESIGN.md §4), pure:
// plain views of the agent's state in, JSON out; bodies in, parsed requests
// or a 400 naming the field out. node/http/cluster_http.cc fills the views
// from AgentCluster and does the forwarding and waiting.
//
//   GET  /v1/status                  this agent's view of the cluster
//   GET  /v1/raft/peers[?index=N]    voters, learners and observers; blocks on
//                                    a local change counter (blocking_query.h)
//   POST /v1/raft/transfer-leader    {"to": "NODE"} or no body (the best voter)
//   GET  /v1/snapshot                the state image, X-Shoal-Index = applied
//   PUT  /v1/snapshot                restore an image through the log
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "node/http/http_router.h"

namespace shoal::node {

struct StatusView {
  std::string cluster_id;
  std::string leader;  // node id, empty when none is known
  std::string leader_name;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  std::string role;
  size_t members_alive = 0;
  size_t voters = 0;
  std::string bootstrap;
  bool upgrade_required = false;
  size_t nodes = 0;  // in the replicated registry
};
HttpResponse render_status(const StatusView& v);

struct PeerView {
  std::string id, name;
  std::string address;  // host:rpc-port; empty when gossip does not know it
  std::string zone;
  bool alive = false;
};
struct PeersView {
  std::string leader, leader_name;
  std::vector<PeerView> voters, learners, observers;
};
// {"leader", "leader_name", "voters", "learners", "observers"}.
nlohmann::json raft_peers_json(const PeersView& v);

// The voter asked for ("" when the body is empty or has no "to": the leader
// picks), or the 400 naming "to".
std::variant<std::string, HttpResponse> parse_transfer_body(const std::string& body);

// nullopt when `body` is a restorable image; else the 413 (over
// scheduler::kMaxRestoreBytes) or the 400 naming "body".
std::optional<HttpResponse> check_restore_body(const std::string& body);
// The saved image as application/octet-stream, at `index`.
HttpResponse render_snapshot(const std::vector<uint8_t>& image, uint64_t index);
// {"restored": true, "index": N}, at `index`.
HttpResponse render_restored(uint64_t index);

}  // namespace shoal::node
