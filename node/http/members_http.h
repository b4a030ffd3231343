// The membership endpoints' request and response shapes (DESIGN.md §4),
// pure: members in, JSON out; a join body in, addresses or a 400 out.
//
//   GET  /v1/members[?index=N&wait=D]  every member gossip knows, with
//                                      X-Shoal-Index = the local view counter
//                                      (node/http/blocking_query.h)
//   POST /v1/agent/join                {"addrs": ["host[:port]", ...]}
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "gossip/types.h"
#include "node/http/http_router.h"

namespace shoal::node {

inline constexpr size_t kMaxJoinAddrs = 64;

// {"name", "id", "addr", "port", "status", "incarnation", "attrs", "tags",
//  "resources", "ports"}.
nlohmann::json member_json(const gossip::Member& m);
// 200 with the members as a JSON array (no X-Shoal-Index: serve_indexed adds it).
HttpResponse render_members(const std::vector<gossip::Member>& members);

// The body's "addrs" as gossip addresses (port `default_port` when a host
// has none), or the 400 naming "addrs".
std::variant<std::vector<gossip::Address>, HttpResponse> parse_join_body(const std::string& body,
                                                                         uint16_t default_port);

}  // namespace shoal::node
