#include "node/config/agent_config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <system_error>

#include "core/crypto.h"
#include "core/time.h"
#include "node/host/host_facts.h"
#include "node/host/node_attrs.h"

namespace shoal::node {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};
constexpr std::array<std::string_view, 3> kGossipProfiles = {"lan", "wan", "local"};

Status flag_error(std::string_view flag, const Status& st) {
  return Status::invalid_argument("--" + std::string(flag) + ": " + st.message());
}

// The gossip settings of finalize(): keys, advertise, --join, --attr, --resources.
Status finalize_gossip(AgentConfig& config, const boost::asio::ip::address& bind);
// The cluster settings: --rpc-port, --bootstrap-expect, --voters, --voter,
// --dead-voter-grace, --api-token.
Status finalize_cluster(AgentConfig& config);

Result<boost::asio::ip::address> parse_address(std::string_view flag, const std::string& text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(text, ec);
  if (ec) {
    return Status::invalid_argument("--" + std::string(flag) + ": \"" + text +
                                    "\" is not an IP address");
  }
  return address;
}

Status check_port(std::string_view flag, int port) {
  if (port < 1 || port > 65535) {
    return Status::invalid_argument("--" + std::string(flag) + ": " + std::to_string(port) +
                                    " is out of range (1-65535)");
  }
  return Status::ok();
}

Result<std::string> default_node_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    return Status::invalid_argument("cannot read the host name; give the node a --name");
  }
  std::string name(host.data());
  if (auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
  if (!is_valid_node_name(name)) {
    return Status::invalid_argument("the host name \"" + name +
                                    "\" is not a valid node name; give the node a --name");
  }
  return name;
}

}  // namespace

bool is_valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string format_host_port(std::string_view address, int port) {
  const bool v6 = address.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out += address;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

Result<AgentConfig> finalize(AgentConfig config) {
  // --dev: everything on loopback and a throwaway data dir, unless told otherwise.
  if (config.dev) {
    if (!config.is_explicit("bind")) config.bind = std::string(kLoopback);
    if (!config.is_explicit("data-dir")) config.ephemeral_data_dir = true;
  }

  if (config.name.empty()) {
    if (config.is_explicit("name")) return Status::invalid_argument("--name: must not be empty");
    auto name = default_node_name();
    if (!name.is_ok()) return name.status();
    config.name = std::move(name).value();
  } else if (!is_valid_node_name(config.name)) {
    return Status::invalid_argument("--name: \"" + config.name +
                                    "\" is not a valid node name (1-63 letters, digits and '-', "
                                    "not starting or ending with '-')");
  }

  // --insecure (or --dev without a key): nothing authenticates gossip or
  // RPC, so they may only listen where no other host reaches them.
  const bool has_key = !config.encrypt.empty() || !config.keyring_file.empty();
  if (config.dev && !has_key) config.insecure = true;
  auto bind = parse_address("bind", config.bind);
  if (!bind.is_ok()) return bind.status();
  if (config.insecure && !bind->is_loopback()) {
    if (config.is_explicit("bind")) {
      return Status::invalid_argument(
          "--insecure: gossip and RPC would accept unauthenticated traffic on " + config.bind +
          "; without a cluster key they bind a loopback address only (e.g. --bind 127.0.0.1), "
          "or give a key with --encrypt-file");
    }
    bind = parse_address("bind", bind->is_v6() ? "::1" : std::string(kLoopback));
  }
  config.bind = bind->to_string();

  if (!config.is_explicit("http-bind")) {
    config.http_bind = bind->is_loopback() ? config.bind : std::string(kLoopback);
  }
  auto http_bind = parse_address("http-bind", config.http_bind);
  if (!http_bind.is_ok()) return http_bind.status();
  config.http_bind = http_bind->to_string();

  SHOAL_RETURN_IF_ERROR(check_port("http-port", config.http_port));
  SHOAL_RETURN_IF_ERROR(finalize_gossip(config, *bind));
  SHOAL_RETURN_IF_ERROR(finalize_cluster(config));

  if (!config.ephemeral_data_dir) {
    if (config.data_dir.empty()) return Status::invalid_argument("--data-dir: must not be empty");
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config.data_dir, ec);
    if (ec) {
      return Status::invalid_argument("--data-dir: \"" + config.data_dir + "\": " + ec.message());
    }
    config.data_dir = absolute.lexically_normal().string();
  }

  bool level_ok = false;
  for (auto level : kLogLevels) level_ok = level_ok || level == config.log_level;
  if (!level_ok) {
    return Status::invalid_argument("--log-level: unknown level \"" + config.log_level +
                                    "\" (use trace, debug, info, warn, error or off)");
  }
  return config;
}

namespace {

Status finalize_gossip(AgentConfig& config, const boost::asio::ip::address& bind) {
  SHOAL_RETURN_IF_ERROR(check_port("gossip-port", config.gossip_port));

  // Keys: --encrypt and --keyring-file are alternatives; --insecure excludes both.
  const bool has_key = !config.encrypt.empty() || !config.keyring_file.empty();
  if (!config.encrypt.empty() && !config.keyring_file.empty()) {
    return Status::invalid_argument("--encrypt and --keyring-file are alternatives; give one");
  }
  if (config.insecure && has_key) {
    return Status::invalid_argument(
        std::string(config.encrypt.empty() ? "--keyring-file" : "--encrypt") +
        " conflicts with --insecure");
  }
  if (config.is_explicit("encrypt") && config.encrypt.empty()) {
    return Status::invalid_argument(
        "--encrypt: must not be empty (make a key with `shoal keygen`)");
  }
  if (!config.encrypt.empty()) {
    auto key = crypto::ClusterKey::from_base64(config.encrypt);
    if (!key.is_ok()) return flag_error("encrypt", key.status());
  }
  if (!config.keyring_file.empty()) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config.keyring_file, ec);
    if (ec) return Status::invalid_argument("--keyring-file: " + ec.message());
    config.keyring_file = absolute.lexically_normal().string();
  }

  if (config.cluster_label.size() > kMaxClusterLabelBytes ||
      !is_valid_attr_value(config.cluster_label)) {
    return Status::invalid_argument("--cluster-label: at most 64 printable characters");
  }

  if (std::find(kGossipProfiles.begin(), kGossipProfiles.end(), config.gossip_profile) ==
      kGossipProfiles.end()) {
    return Status::invalid_argument("--gossip-profile: unknown profile \"" + config.gossip_profile +
                                    "\" (use lan, wan or local)");
  }

  // Advertise: what peers dial. A specific --bind is reachable as itself; a
  // wildcard bind advertises the first non-loopback address.
  if (config.advertise.empty()) {
    if (!bind.is_unspecified()) {
      config.advertise = bind.to_string();
    } else {
      config.advertise = first_non_loopback_address();
      if (config.advertise.empty()) config.advertise = std::string(kLoopback);
    }
  }
  auto advertise = parse_address("advertise", config.advertise);
  if (!advertise.is_ok()) return advertise.status();
  if (advertise->is_unspecified() || advertise->is_multicast()) {
    return Status::invalid_argument("--advertise: \"" + config.advertise +
                                    "\" is not an address peers can reach");
  }
  config.advertise = advertise->to_string();

  config.join_addrs.clear();
  for (const auto& text : config.join) {
    auto hp = parse_host_port(text, static_cast<uint16_t>(config.gossip_port));
    if (!hp.is_ok()) return flag_error("join", hp.status());
    config.join_addrs.push_back(*hp);
  }

  config.attr_map.clear();
  if (config.attrs.size() > kMaxAttrs) {
    return Status::invalid_argument("--attr: at most " + std::to_string(kMaxAttrs) + " attributes");
  }
  for (const auto& text : config.attrs) {
    auto kv = parse_attr(text);
    if (!kv.is_ok()) return flag_error("attr", kv.status());
    if (config.attr_map.contains(kv->first)) {
      return Status::invalid_argument("--attr: \"" + kv->first + "\" given twice");
    }
    config.attr_map.insert(std::move(*kv));
  }

  if (config.is_explicit("resources") || !config.resources.empty()) {
    auto spec = parse_resources(config.resources);
    if (!spec.is_ok()) return flag_error("resources", spec.status());
    config.cpu_mhz = spec->cpu_mhz;
    config.memory_mb = spec->memory_mb;
  }
  return Status::ok();
}

Status finalize_cluster(AgentConfig& config) {
  SHOAL_RETURN_IF_ERROR(check_port("rpc-port", config.rpc_port));
  if (config.rpc_port == config.http_port || config.rpc_port == config.gossip_port) {
    return Status::invalid_argument("--rpc-port: " + std::to_string(config.rpc_port) +
                                    " is already the HTTP or gossip port");
  }
  if (config.dev && !config.is_explicit("bootstrap-expect")) config.bootstrap_expect = 1;
  if (config.bootstrap_expect < 0 || config.bootstrap_expect > 9) {
    return Status::invalid_argument(
        "--bootstrap-expect: " + std::to_string(config.bootstrap_expect) +
        " is out of range (1-9)");
  }
  if (config.voters != 1 && config.voters != 3 && config.voters != 5) {
    return Status::invalid_argument("--voters: " + std::to_string(config.voters) +
                                    " is not 1, 3 or 5 (an even count adds no fault tolerance)");
  }
  if (config.voter != "auto" && config.voter != "never") {
    return Status::invalid_argument("--voter: \"" + config.voter + "\" is not auto or never");
  }
  if (config.voter == "never" && config.bootstrap_expect > 0) {
    return Status::invalid_argument("--voter never conflicts with --bootstrap-expect");
  }
  auto grace = parse_duration(config.dead_voter_grace);
  if (!grace.is_ok()) return flag_error("dead-voter-grace", grace.status());
  if (*grace < std::chrono::seconds(10)) {
    return Status::invalid_argument("--dead-voter-grace: at least 10s");
  }
  config.dead_voter_grace_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*grace);
  if (config.raft_snapshot_threshold < 10 || config.raft_snapshot_threshold > 10'000'000) {
    return Status::invalid_argument(
        "--raft-snapshot-threshold: " + std::to_string(config.raft_snapshot_threshold) +
        " is out of range (10-10000000)");
  }
  if (config.http_max_blocking_queries < 1 || config.http_max_blocking_queries > 1'000'000) {
    return Status::invalid_argument(
        "--http-max-blocking-queries: " + std::to_string(config.http_max_blocking_queries) +
        " is out of range (1-1000000)");
  }
  for (char c : config.api_token) {
    if (c <= ' ' || c > '~') {
      return Status::invalid_argument("--api-token: printable characters only, no spaces");
    }
  }
  if (config.is_explicit("api-token") && config.api_token.empty()) {
    return Status::invalid_argument("--api-token: must not be empty");
  }
  return Status::ok();
}

}  // namespace

}  // namespace shoal::node
