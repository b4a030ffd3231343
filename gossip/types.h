// Membership types shared by the gossip core and its hosts: addresses, node
// metadata, member records and their states.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/time.h"

namespace shoal::gossip {

// An IP address (v4 or v6, textual) and a port. Identity is the NodeId; an
// address is only where a member was last heard from.
struct Address {
  std::string ip;
  uint16_t port = 0;

  bool empty() const { return ip.empty(); }
  // "127.0.0.1:7782", "[::1]:7782".
  std::string to_string() const;
  auto operator<=>(const Address&) const = default;
};

// alive -> suspect -> dead, or alive -> left (graceful). A member returns to
// alive only with a higher incarnation (refutation, or a restart).
enum class MemberStatus : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
// "alive", "suspect", "dead", "left" (the API's spelling).
const char* status_name(MemberStatus status);

struct Resources {
  uint32_t cpu_mhz = 0;
  uint32_t memory_mb = 0;
  auto operator<=>(const Resources&) const = default;
};

// What a node says about itself. Versioned by the member's incarnation: a
// change is published by raising the incarnation and spreads like any update.
struct NodeMeta {
  std::string name;
  Address gossip;  // advertised address and gossip port
  uint16_t rpc_port = 0;
  uint16_t http_port = 0;
  uint16_t dns_port = 0;
  std::map<std::string, std::string> attrs;  // zone, os, arch, ...
  Resources resources;
  std::vector<std::string> tags;
  std::string cluster_id;    // set at bootstrap (cluster issue)
  std::string role;          // "voter", "observer", or empty (cluster issue)
  uint8_t protocol_min = 1;  // wire versions this node understands
  uint8_t protocol_max = 1;
  auto operator<=>(const NodeMeta&) const = default;
};

struct Member {
  NodeId id;
  NodeMeta meta;
  uint64_t incarnation = 0;
  MemberStatus status = MemberStatus::kAlive;
  TimePoint status_since{};  // local time of the last status change
};

}  // namespace shoal::gossip
