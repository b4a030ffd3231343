// "ADDR[:PORT]" as users write it for --join and POST /v1/agent/join:
// "10.0.0.5", "10.0.0.5:7782", "seed.example", "[::1]:7782", "::1". The port
// defaults to the caller's choice (the agent's own --gossip-port).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal::node {

struct HostPort {
  std::string host;  // an IP address or a host name, without brackets
  uint16_t port = 0;
  auto operator<=>(const HostPort&) const = default;
};

// Errors are kInvalidArgument and quote the text: "\"a:b:c:99999\" ...".
[[nodiscard]] Result<HostPort> parse_host_port(std::string_view text, uint16_t default_port);

// The IP address of host as text: the host itself when it is an IP literal,
// else the first address the resolver gives (IPv4 preferred). Blocking; used
// at startup and for the rare POST /v1/agent/join with host names.
[[nodiscard]] Result<std::string> resolve_ip(const std::string& host);

}  // namespace shoal::node
