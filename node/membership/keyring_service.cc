#include "node/membership/keyring_service.h"

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "node/host/keyring_file.h"

namespace shoal::node {
namespace {

// Names of the members that should answer a query started now: every alive
// or suspect member, ourselves included.
std::map<NodeId, std::string> expected_members(const gossip::Gossip& core) {
  std::map<NodeId, std::string> out;
  for (const auto& m : core.members()) {
    if (m.status == gossip::MemberStatus::kAlive || m.status == gossip::MemberStatus::kSuspect) {
      out[m.id] = m.meta.name;
    }
  }
  return out;
}

std::string name_of(const gossip::Gossip& core, const NodeId& id) {
  const auto m = core.find(id);
  return m ? m->meta.name : id.short_string();
}

// What a gathering query collects.
struct Gathered {
  std::map<NodeId, std::string> expected;
  std::map<NodeId, KeyringReply> replies;
  std::map<NodeId, std::string> bad;  // undecodable replies

  bool answered(const NodeId& id) const { return replies.contains(id) || bad.contains(id); }
  size_t missing() const {
    size_t n = 0;
    for (const auto& [id, name] : expected) n += answered(id) ? 0 : 1;
    return n;
  }
};

// A query can miss a member (a lost packet, a starved process); every
// keyring operation is idempotent, so members that did not answer are simply
// asked again, up to this many rounds in all.
constexpr int kQueryRounds = 3;

// Runs the request as a query, again while members are missing, then calls
// finish(cancelled).
void gather(GossipHost& host, const KeyringRequest& request, std::shared_ptr<Gathered> gathered,
            int rounds_left, std::function<void(bool)> finish) {
  auto on_response = [gathered](const NodeId& from, std::vector<uint8_t> bytes) {
    auto reply = decode_keyring_reply(bytes);
    if (reply.is_ok()) {
      gathered->bad.erase(from);
      gathered->replies[from] = std::move(*reply);
    } else if (!gathered->replies.contains(from)) {
      gathered->bad[from] = "undecodable answer: " + reply.status().message();
    }
  };
  auto on_done = [&host, request, gathered, rounds_left,
                  finish = std::move(finish)](bool cancelled) mutable {
    if (!cancelled && rounds_left > 1 && gathered->missing() > 0) {
      spdlog::info("keyring: {} member(s) did not answer the {} query; asking again",
                   gathered->missing(), keyring_op_name(request.op));
      gather(host, request, gathered, rounds_left - 1, std::move(finish));
      return;
    }
    finish(cancelled);
  };
  host.start_query(std::string(kKeyringQuery), encode_keyring_request(request),
                   host.query_timeout(), std::move(on_response), std::move(on_done));
}

}  // namespace

KeyringService::KeyringService(GossipHost& host, GossipChannel& channel,
                               std::filesystem::path keyring_path)
    : host_(host), channel_(channel), keyring_path_(std::move(keyring_path)) {}

void KeyringService::set_on_change(Changed on_change) { on_change_ = std::move(on_change); }

void KeyringService::attach() {
  host_.set_query_handler(std::string(kKeyringQuery),
                          [this](const gossip::QueryInfo& q) { return answer(q); });
}

std::vector<uint8_t> KeyringService::answer(const gossip::QueryInfo& query) {
  KeyringReply reply;
  auto request = decode_keyring_request(query.payload);
  if (!request.is_ok()) {
    reply.error = "cannot decode the keyring request: " + request.status().message();
    return encode_keyring_reply(reply);
  }
  if (channel_.insecure()) {
    reply.error = "this agent runs with --insecure and has no keyring";
    return encode_keyring_reply(reply);
  }
  bool changed = false;
  reply = apply_keyring_request(channel_.keyring(), *request, &changed);
  if (changed) {
    const std::string key_id = key_id_hex(request->key_id);
    spdlog::info("keyring: {} key {} (asked by {})", keyring_op_name(request->op), key_id,
                 name_of(host_.core(), query.origin));
    if (on_change_) on_change_(channel_.keyring());
    if (!keyring_path_.empty()) {
      if (Status st = save_keyring(keyring_path_, channel_.keyring()); !st.is_ok()) {
        spdlog::error("keyring: cannot persist the keyring: {}", st.message());
        reply.ok = false;
        reply.error = "applied, but not persisted: " + st.message();
      }
    }
  } else if (!reply.ok) {
    spdlog::warn("keyring: {} failed: {}", keyring_op_name(request->op), reply.error);
  }
  return encode_keyring_reply(reply);
}

void KeyringService::apply(const KeyringRequest& request, Done done) {
  const std::string key_id = key_id_hex(request.key_id);
  auto gathered = std::make_shared<Gathered>();
  gathered->expected = expected_members(host_.core());
  spdlog::info("keyring: {} key {} on {} member(s)", keyring_op_name(request.op), key_id,
               gathered->expected.size());
  auto on_done = [this, gathered, op = request.op, key_id, done = std::move(done)](bool cancelled) {
    const auto& core = host_.core();
    nlohmann::json errors = nlohmann::json::object();
    nlohmann::json no_response = nlohmann::json::array();
    size_t ok = 0;
    std::set<NodeId> answered;
    for (const auto& [id, reply] : gathered->replies) {
      answered.insert(id);
      if (reply.ok) {
        ++ok;
      } else {
        errors[name_of(core, id)] = reply.error;
      }
    }
    for (const auto& [id, why] : gathered->bad) {
      answered.insert(id);
      errors[name_of(core, id)] = why;
    }
    for (const auto& [id, name] : gathered->expected) {
      if (!answered.contains(id)) no_response.push_back(name);
    }
    const size_t nodes = std::max(gathered->expected.size(), answered.size());
    nlohmann::json body = {
        {"op", keyring_op_name(op)}, {"key_id", key_id},          {"nodes", nodes}, {"ok", ok},
        {"errors", errors},          {"no_response", no_response}};
    unsigned status = 200;
    if (cancelled) {
      status = 503;
      body["error"] = "the agent is shutting down";
    } else if (!errors.empty()) {
      status = 500;
      body["error"] = std::string(keyring_op_name(op)) + " failed on " +
                      std::to_string(errors.size()) + " of " + std::to_string(nodes) + " nodes";
    } else if (!no_response.empty()) {
      status = 504;
      body["error"] = std::to_string(no_response.size()) + " of " + std::to_string(nodes) +
                      " nodes did not answer in time";
    }
    spdlog::info("keyring: {} key {}: {} of {} node(s) ok", keyring_op_name(op), key_id, ok, nodes);
    done(status, std::move(body));
  };
  gather(host_, request, gathered, kQueryRounds, std::move(on_done));
}

void KeyringService::list(bool local_only, Done done) {
  auto local = [this]() {
    nlohmann::json keys = nlohmann::json::array();
    const auto& ring = channel_.keyring();
    for (const auto& k : ring.keys()) {
      keys.push_back({{"id", key_id_hex(k.id())}, {"primary", k.id() == ring.primary().id()}});
    }
    return keys;
  };
  if (channel_.insecure()) {
    done(200, {{"insecure", true}, {"keys", nlohmann::json::array()}});
    return;
  }
  if (local_only) {
    done(200, {{"insecure", false}, {"keys", local()}});
    return;
  }
  auto gathered = std::make_shared<Gathered>();
  gathered->expected = expected_members(host_.core());
  auto on_done = [this, gathered, done = std::move(done)](bool cancelled) {
    if (cancelled) {
      done(503, {{"error", "the agent is shutting down"}});
      return;
    }
    const auto& core = host_.core();
    // Per key id: members holding it, and members using it as primary.
    std::map<uint32_t, std::pair<size_t, size_t>> counts;
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [id, reply] : gathered->replies) {
      if (!reply.ok) {
        errors[name_of(core, id)] = reply.error;
        continue;
      }
      for (uint32_t k : reply.key_ids) ++counts[k].first;
      ++counts[reply.primary].second;
    }
    for (const auto& [id, why] : gathered->bad) errors[name_of(core, id)] = why;
    // This agent's keys first (its primary leading), then keys that only
    // other members hold.
    nlohmann::json keys = nlohmann::json::array();
    const auto& ring = channel_.keyring();
    auto add = [&](uint32_t id, bool here) {
      keys.push_back({{"id", key_id_hex(id)},
                      {"primary", here && id == ring.primary().id()},
                      {"local", here},
                      {"nodes", counts[id].first},
                      {"primary_nodes", counts[id].second}});
    };
    for (const auto& k : ring.keys()) add(k.id(), true);
    for (const auto& [id, c] : counts) {
      if (ring.find(id) == nullptr) add(id, false);
    }
    nlohmann::json no_response = nlohmann::json::array();
    for (const auto& [id, name] : gathered->expected) {
      if (!gathered->answered(id)) no_response.push_back(name);
    }
    done(200, {{"insecure", false},
               {"keys", keys},
               {"nodes", gathered->expected.size()},
               {"responded", gathered->replies.size() + gathered->bad.size()},
               {"errors", errors},
               {"no_response", no_response}});
  };
  gather(host_, KeyringRequest::list(), gathered, kQueryRounds, std::move(on_done));
}

}  // namespace shoal::node
