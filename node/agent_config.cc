#include "node/agent_config.h"

#include <unistd.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <system_error>

namespace shoal::node {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};

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

  auto bind = parse_address("bind", config.bind);
  if (!bind.is_ok()) return bind.status();
  config.bind = bind->to_string();

  if (!config.is_explicit("http-bind")) {
    config.http_bind = bind->is_loopback() ? config.bind : std::string(kLoopback);
  }
  auto http_bind = parse_address("http-bind", config.http_bind);
  if (!http_bind.is_ok()) return http_bind.status();
  config.http_bind = http_bind->to_string();

  SHOAL_RETURN_IF_ERROR(check_port("http-port", config.http_port));

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

}  // namespace shoal::node
