#include "node/config/agent_flags.h"

#include <array>

namespace shoal::node {
namespace {

using C = AgentConfig;

AgentFlag F(std::string_view name, AgentFlag::Field field, std::string_view help, bool live = false,
            bool secret = false, std::string_view group = {}) {
  return AgentFlag{name, field, help, live, secret, group};
}

// Append-only in spirit: a name here is a config-file key users depend on.
const std::array<AgentFlag, 29> kFlags = {
    F("config", &C::config_file,
      "YAML file with the same settings as the flags, spelled without dashes (data-dir: /x, "
      "join: [a, b]); flags win over it; SIGHUP re-reads it"),
    F("dev", &C::dev,
      "Try Shoal out: one node, a temporary data dir, everything on 127.0.0.1 (explicit --bind "
      "and port flags still win); insecure"),
    F("name", &C::name, "Node name, unique in the cluster (default: the host name)"),
    F("data-dir", &C::data_dir, "Directory for the node id and state (default: /var/lib/shoal)"),
    F("bind", &C::bind, "Address every listener binds (default: 0.0.0.0)"),
    F("http-bind", &C::http_bind,
      "Address of the HTTP API (default: 127.0.0.1, or --bind when that is a loopback address)"),
    F("http-port", &C::http_port, "HTTP API port (default: 7780)"),
    F("advertise", &C::advertise,
      "Address peers use to reach this node (default: --bind, or the first non-loopback address "
      "when --bind is 0.0.0.0)"),
    F("gossip-port", &C::gossip_port, "Gossip port, UDP and TCP (default: 7782)"),
    F("join", &C::join,
      "ADDR[:PORT] of an agent to join (repeatable; the port defaults to --gossip-port; retried "
      "with backoff until one answers)"),
    F("encrypt", &C::encrypt,
      "Base64 32-byte cluster key from `shoal keygen` (a keyring persisted in the data dir wins). "
      "Visible to local users on a command line: prefer --encrypt-file or $SHOAL_ENCRYPT",
      false, true, "key"),
    F("encrypt-file", &C::encrypt_file, "File holding the base64 cluster key (mode 0600)", false,
      false, "key"),
    F("keyring-file", &C::keyring_file,
      "Keyring file: JSON {\"primary\", \"keys\"} or one base64 key per line, the first being "
      "primary (a keyring persisted in the data dir wins)",
      false, false, "key"),
    F("insecure", &C::insecure,
      "Run without a cluster key: nothing is authenticated or encrypted, so gossip and RPC "
      "listen on 127.0.0.1 only"),
    F("cluster-label", &C::cluster_label,
      "Label mixed into every packet, so clusters sharing a key stay apart"),
    F("attr", &C::attrs,
      "KEY=VALUE node attribute (repeatable), added to the detected os, arch, kernel.version, "
      "cpu.cores, memory.mb and hostname"),
    F("resources", &C::resources, "Schedulable capacity cpu=MHZ,memory=MB (default: detected)"),
    F("gossip-profile", &C::gossip_profile, "Gossip timings: lan, wan or local (default: lan)"),
    F("rpc-port", &C::rpc_port,
      "TCP port for Raft and request forwarding, encrypted (default: 7781)"),
    F("bootstrap-expect", &C::bootstrap_expect,
      "Form a new cluster once N agents started with the same N see each other (give it to the "
      "first agents only; 1 for a one-node cluster)"),
    F("voters", &C::voters,
      "Target number of Raft voters, kept automatically: 1, 3 or 5 (default: 3)"),
    F("voter", &C::voter, "auto, or never: this node is never made a voter (default: auto)"),
    F("dead-voter-grace", &C::dead_voter_grace,
      "How long a voter must be dead before it is replaced (default: 2m)"),
    F("api-token", &C::api_token,
      "Require Authorization: Bearer TOKEN on every API call but health. Visible to local users "
      "on a command line: prefer --api-token-file or $SHOAL_API_TOKEN",
      true, true, "token"),
    F("api-token-file", &C::api_token_file, "File holding the API token (mode 0600)", true, false,
      "token"),
    F("raft-snapshot-threshold", &C::raft_snapshot_threshold,
      "Compact the Raft log after this many applied entries (default: 10000)"),
    F("http-max-blocking-queries", &C::http_max_blocking_queries,
      "Most blocking queries waiting at once on this agent; beyond it 429 (default: 4096)"),
    F("log-level", &C::log_level, "trace, debug, info, warn, error or off (default: info)", true),
    F("log-json", &C::log_json, "Log one JSON object per line"),
};

}  // namespace

std::span<const AgentFlag> agent_flags() { return kFlags; }

const AgentFlag* find_agent_flag(std::string_view name) {
  for (const AgentFlag& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string flag_value_text(const AgentConfig& config, const AgentFlag& flag) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& value = config.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int>) {
          return std::to_string(value);
        } else {
          std::string out;
          for (const auto& item : value) {
            if (!out.empty()) out += ',';
            out += item;
          }
          return out;
        }
      },
      flag.field);
}

}  // namespace shoal::node
