// AgentConfig: the settings of `shoal agent` (DESIGN.md §2) as the command
// line gives them, and finalize(), which fills in the defaults that depend on
// other settings (--dev, a loopback --bind, the advertise address) and
// validates every value with an error message that names the flag.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "node/host/test_faults.h"
#include "node/net/host_port.h"

namespace shoal::node {

inline constexpr std::string_view kDefaultDataDir = "/var/lib/shoal";
inline constexpr std::string_view kDefaultBind = "0.0.0.0";
inline constexpr std::string_view kLoopback = "127.0.0.1";
inline constexpr int kDefaultHttpPort = 7780;
inline constexpr int kDefaultGossipPort = 7782;
inline constexpr int kDefaultRpcPort = 7781;
inline constexpr size_t kMaxClusterLabelBytes = 64;

struct AgentConfig {
  std::string config_file;  // --config: a YAML file with the same keys (agent_config_file.h)
  std::string name;         // empty: the host name, up to its first dot
  std::string data_dir{kDefaultDataDir};
  std::string bind{kDefaultBind};
  std::string http_bind{kLoopback};  // unless explicit: bind when bind is loopback
  int http_port = kDefaultHttpPort;
  std::string log_level = "info";
  bool log_json = false;
  bool dev = false;

  // Gossip (DESIGN.md §2).
  std::string advertise;  // empty: bind, or the first non-loopback address when bind is 0.0.0.0
  int gossip_port = kDefaultGossipPort;
  std::vector<std::string> join;  // ADDR[:PORT], as given; the port defaults to gossip_port
  std::string encrypt;            // base64 cluster key
  std::string encrypt_file;       // read into encrypt by load_agent_config()
  std::string keyring_file;
  bool insecure = false;
  std::string cluster_label;
  std::vector<std::string> attrs;  // KEY=VALUE, as given
  std::string resources;           // "cpu=MHZ,memory=MB", as given; empty: detected
  std::string gossip_profile = "lan";

  // The cluster (DESIGN.md §2): RPC, formation, voters, the API token.
  int rpc_port = kDefaultRpcPort;
  int bootstrap_expect = 0;    // 0: join only; --dev makes it 1
  int voters = 3;              // 1, 3 or 5
  std::string voter = "auto";  // "auto" or "never"
  std::string dead_voter_grace = "2m";
  std::string api_token;       // empty: no token required
  std::string api_token_file;  // read into api_token by load_agent_config()
  // Not a flag: $SHOAL_TEST_FAULTS in a test build (node/host/test_faults.h).
  TestFaults test_faults;
  // Log compaction: a snapshot after this many applied entries (Consul's
  // raft_snapshot_threshold); a tenth of them stay in the log for followers.
  int raft_snapshot_threshold = 10000;
  // HTTP: the most blocking queries (GET ...?index=N) that may wait at once;
  // beyond it they are answered 429 (node/http/blocking_queries.h).
  int http_max_blocking_queries = 4096;

  // Set by finalize() from the above.
  std::vector<HostPort> join_addrs;
  std::map<std::string, std::string> attr_map;  // --attr only; detection adds the rest
  std::optional<uint32_t> cpu_mhz;              // from --resources
  std::optional<uint32_t> memory_mb;
  std::chrono::milliseconds dead_voter_grace_ms{120'000};

  // Settings the user gave explicitly, by flag name without dashes ("bind",
  // "http-port"; the same keys a YAML config will use). Derived defaults and
  // --dev never override these.
  std::set<std::string, std::less<>> explicit_keys;

  // What loading the configuration found worth a warning (a secret on the
  // command line, a secret file others can read), logged once logging is set up.
  std::vector<std::string> warnings;

  // Set by finalize(): --dev without an explicit --data-dir runs on a fresh
  // temporary data dir that is removed at shutdown; data_dir is then unused.
  bool ephemeral_data_dir = false;

  void mark_explicit(std::string key) { explicit_keys.insert(std::move(key)); }
  bool is_explicit(std::string_view key) const { return explicit_keys.contains(key); }
};

// Applies the --dev rules (temporary data dir, everything on 127.0.0.1,
// --insecure unless a key is given; an explicit flag still wins), derives
// http_bind and advertise, normalises addresses and the data dir path, parses
// --join, --attr and --resources, and validates. Errors are kInvalidArgument
// with a message such as "--http-port: 70000 is out of range (1-65535)".
Result<AgentConfig> finalize(AgentConfig config);

// True when the text is a valid node name: 1-63 letters, digits and '-', not
// starting or ending with '-' (it becomes a DNS label: <name>.node.shoal).
bool is_valid_node_name(std::string_view name);

// "127.0.0.1:7780", or "[::1]:7780" for IPv6.
std::string format_host_port(std::string_view address, int port);

}  // namespace shoal::node
