// Helpers for tests that run several real agents on loopback: each agent has
// its own 127.0.X.N address and data dir (under the test's TempDir), the
// test's HTTP and gossip ports, and can be stopped, killed and restarted on
// the same data dir. Reads of the API return JSON (null when the agent does
// not answer), so tests can poll them with eventually().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace shoal::testing {

class TestAgent {
 public:
  // name doubles as --name; ip as --bind; data dir is <root>/<name>.
  TestAgent(std::string name, std::string ip, uint16_t http_port, uint16_t gossip_port,
            const std::filesystem::path& root);

  // Starts `shoal agent` with --name, --bind, ports, --data-dir and args;
  // env entries "NAME=value" are added to its environment.
  void start(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  // Polls health until 200; false (with the agent's stderr in `why`) if the
  // agent exits or does not get there within timeout.
  [[nodiscard]] bool wait_healthy(std::string* why, Millis timeout = 15s);
  // SIGTERM and wait; the exit status, or nullopt if it did not stop in time.
  std::optional<ExitStatus> stop(Millis timeout = 10s);
  void kill9();
  bool running() { return process_ && process_->running(); }
  Process& process() { return *process_; }

  const std::string& name() const { return name_; }
  const std::string& ip() const { return ip_; }
  uint16_t http_port() const { return http_port_; }
  uint16_t gossip_port() const { return gossip_port_; }
  std::string gossip_addr() const { return ip_ + ":" + std::to_string(gossip_port_); }
  std::string shoal_addr() const {
    return "SHOAL_ADDR=http://" + ip_ + ":" + std::to_string(http_port_);
  }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string err() const { return process_ ? process_->err() : std::string(); }

  // GET a JSON document; null when unreachable or not 200.
  nlohmann::json get_json(const std::string& path, Millis timeout = 2s) const;
  nlohmann::json members() const { return get_json("/v1/members"); }
  // The status of the member called `name` in this agent's view, or "".
  std::string status_of(const std::string& name) const;
  // Members this agent sees with the given status.
  size_t count_status(const std::string& status) const;
  // GET /v1/metrics; "" when unreachable.
  std::string metrics() const;

 private:
  std::string name_;
  std::string ip_;
  uint16_t http_port_;
  uint16_t gossip_port_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_dir_;
  std::unique_ptr<Process> process_;
};

// The value of one sample ("name{labels}") in Prometheus text, or nullopt.
std::optional<double> metric_value(const std::string& text, const std::string& series);

// A fresh base64 cluster key (as `shoal keygen` prints it).
std::string new_key();
// The id of a base64 cluster key as the keyring API names it ("1a2b3c4d").
std::string key_id_of(const std::string& base64_key);

}  // namespace shoal::testing
