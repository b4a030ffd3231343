// The cluster keyring as a service of the agent: it answers "keyring"
// queries from any member (apply the operation to our keyring, persist it,
// answer with the outcome and the key ids we hold), and runs the
// cluster-wide operations behind GET and POST /v1/keyring, gathering every
// member's answer until the query deadline.
//
// Members that do not answer a round are asked again (every operation is
// idempotent), up to three rounds of query_timeout() each.
// POST outcome: 200 when every member that was alive at the start answered
// ok; 500 when any member answered with an error; 504 when all answers were
// ok but some members did not answer in time. The body always carries
// {"op", "key_id", "nodes", "ok", "errors": {name: message}, "no_response": [names]},
// plus "error" when the status is not 200.
//
// Nothing here ever returns key material: the list names keys by their id
// (node/host/keyring_file.h key_id_hex), and only an install request carries a key.
//
// Every change applied to this node's keyring (install, use, remove) is
// reported to the change handler, so that the transports that copied the
// keyring (RPC) take the new one at once.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>

#include "node/membership/gossip_host.h"
#include "node/membership/keyring_query.h"
#include "node/net/gossip_channel.h"

namespace shoal::node {

class KeyringService {
 public:
  using Done = std::function<void(unsigned http_status, nlohmann::json body)>;
  // Called on the agent's thread with the keyring after each change.
  using Changed = std::function<void(const crypto::Keyring& keyring)>;

  // keyring_path: where changes are persisted (empty with --insecure).
  KeyringService(GossipHost& host, GossipChannel& channel, std::filesystem::path keyring_path);

  // Registers the query handler on the host.
  void attach();
  // Replaces the change handler (empty: none).
  void set_on_change(Changed on_change);
  // install, use or remove on every member.
  void apply(const KeyringRequest& request, Done done);
  // The key ids of this node ({"id", "primary"}); unless local_only, also
  // the ids only other members hold, each with "local", "nodes" (members
  // holding it) and "primary_nodes" (members using it as primary).
  void list(bool local_only, Done done);

 private:
  std::vector<uint8_t> answer(const gossip::QueryInfo& query);

  GossipHost& host_;
  GossipChannel& channel_;
  std::filesystem::path keyring_path_;
  Changed on_change_;
};

}  // namespace shoal::node
