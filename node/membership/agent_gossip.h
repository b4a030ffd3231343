// The gossip side of the agent, built from its config: the cluster keyring
// (persisted keyring, else --encrypt / --keyring-file, else --insecure), the
// node's metadata (advertise address, ports, detected and --attr attributes,
// resources), the sealed channel, the GossipHost with its transports and the
// keyring service, and their HTTP endpoints:
//   GET  /v1/members (blocking) POST /v1/agent/join   POST /v1/agent/leave
//   GET  /v1/keyring            POST /v1/keyring      GET  /v1/metrics
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "core/crypto.h"
#include "core/status.h"
#include "gossip/gossip.h"
#include "node/config/agent_config.h"
#include "node/host/node_identity.h"
#include "node/http/http_router.h"

namespace shoal::node {

// Refuses early, before the data dir is touched, when the agent has no key:
// no --encrypt, no --keyring-file, no --insecure and no persisted keyring.
[[nodiscard]] Status check_has_cluster_key(const AgentConfig& config,
                                           const std::filesystem::path& data_dir);

class AgentGossip {
 public:
  AgentGossip();
  ~AgentGossip();
  AgentGossip(const AgentGossip&) = delete;
  AgentGossip& operator=(const AgentGossip&) = delete;

  // Chooses the keyring, builds the metadata, listens, and starts joining.
  [[nodiscard]] Status start(boost::asio::io_context& io, const AgentConfig& config,
                             const NodeIdentity& identity, const std::filesystem::path& data_dir);
  // shutdown: how the agent stops after POST /v1/agent/leave; more_metrics
  // adds the other subsystems' samples to GET /v1/metrics.
  void add_routes(Router& router, std::function<void()> shutdown,
                  std::function<void(class MetricsText&)> more_metrics = {});
  // Gossip's part of GET /v1/agent/self.
  void add_self(nlohmann::json& self) const;
  void stop();

  // For the cluster side (node/cluster/agent_cluster.h), on the agent's thread, after start():
  // the gossip core (members, self), this node's metadata and a way to publish
  // a change to it (cluster id, role, bootstrap tags), and the cluster key the
  // RPC channel authenticates with (the insecure all-zero key with --insecure).
  const gossip::Gossip& core() const;
  const gossip::NodeMeta& meta() const;
  void update_meta(const std::function<void(gossip::NodeMeta&)>& change);
  const crypto::Keyring& keyring() const;
  // Calls `on_change` (on the agent's thread) with the keyring after every
  // change applied to it (keyring install, use, remove); empty: no one.
  void on_keyring_change(std::function<void(const crypto::Keyring&)> on_change);
  // The local counter of the member view (GossipHost::view_index), and a
  // call after each move of it, on the agent's thread.
  uint64_t view_index() const;
  void on_view_change(std::function<void(uint64_t)> f);
  // The blocking queries waiting on GET /v1/members (null before start()),
  // for the agent's blocking-query metrics.
  const class BlockingQueries* member_waiters() const;

  struct Parts;

 private:
  std::unique_ptr<Parts> parts_;
};

}  // namespace shoal::node
