// AgentConfig: the settings of `shoal agent` (DESIGN.md §2) as the command
// line gives them, and finalize(), which fills in the defaults that depend on
// other settings (--dev, a loopback --bind) and validates every value with an
// error message that names the flag.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal::node {

inline constexpr std::string_view kDefaultDataDir = "/var/lib/shoal";
inline constexpr std::string_view kDefaultBind = "0.0.0.0";
inline constexpr std::string_view kLoopback = "127.0.0.1";
inline constexpr int kDefaultHttpPort = 7780;

struct AgentConfig {
  std::string name;  // empty: the host name, up to its first dot
  std::string data_dir{kDefaultDataDir};
  std::string bind{kDefaultBind};
  std::string http_bind{kLoopback};  // unless explicit: bind when bind is loopback
  int http_port = kDefaultHttpPort;
  std::string log_level = "info";
  bool log_json = false;
  bool dev = false;

  // Settings the user gave explicitly, by flag name without dashes ("bind",
  // "http-port"; the same keys a YAML config will use). Derived defaults and
  // --dev never override these.
  std::set<std::string, std::less<>> explicit_keys;

  // Set by finalize(): --dev without an explicit --data-dir runs on a fresh
  // temporary data dir that is removed at shutdown; data_dir is then unused.
  bool ephemeral_data_dir = false;

  void mark_explicit(std::string key) { explicit_keys.insert(std::move(key)); }
  bool is_explicit(std::string_view key) const { return explicit_keys.contains(key); }
};

// Applies the --dev rules (temporary data dir, everything on 127.0.0.1; an
// explicit flag still wins), derives http_bind, normalises addresses and the
// data dir path, and validates. Errors are kInvalidArgument with a message
// such as "--http-port: 70000 is out of range (1-65535)".
Result<AgentConfig> finalize(AgentConfig config);

// True when the text is a valid node name: 1-63 letters, digits and '-', not
// starting or ending with '-' (it becomes a DNS label: <name>.node.shoal).
bool is_valid_node_name(std::string_view name);

// "127.0.0.1:7780", or "[::1]:7780" for IPv6.
std::string format_host_port(std::string_view address, int port);

}  // namespace shoal::node
