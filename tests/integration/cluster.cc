#include "tests/integration/cluster.h"

#include <csignal>
#include <sstream>

#include "core/crypto.h"
#include "node/host/keyring_file.h"

namespace shoal::testing {

TestAgent::TestAgent(std::string name, std::string ip, uint16_t http_port, uint16_t gossip_port,
                     const std::filesystem::path& root)
    : name_(std::move(name)),
      ip_(std::move(ip)),
      http_port_(http_port),
      gossip_port_(gossip_port),
      data_dir_(root / name_),
      log_dir_(root / "logs") {
  std::filesystem::create_directories(log_dir_);
}

void TestAgent::start(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv{shoal_binary(),  "agent",
                                "--name",        name_,
                                "--bind",        ip_,
                                "--http-port",   std::to_string(http_port_),
                                "--gossip-port", std::to_string(gossip_port_),
                                "--data-dir",    data_dir_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  process_.reset();  // reaps (or kills) an earlier run
  process_ = std::make_unique<Process>(argv, log_dir_, env);
}

bool TestAgent::wait_healthy(std::string* why, Millis timeout) {
  const bool healthy = eventually(
      [&] {
        if (!process_->running()) return true;
        auto r = http_get(ip_, http_port_, "/v1/agent/health", 1s);
        return r && r->status == 200;
      },
      timeout);
  if (!process_->running()) {
    *why = name_ + " exited early:\n" + process_->err();
    return false;
  }
  if (!healthy) {
    *why = name_ + " never became healthy:\n" + process_->err();
    return false;
  }
  return true;
}

std::optional<ExitStatus> TestAgent::stop(Millis timeout) {
  process_->send_signal(SIGTERM);
  return process_->wait_for(timeout);
}

void TestAgent::kill9() {
  process_->send_signal(SIGKILL);
  (void)process_->wait_for(5s);
}

nlohmann::json TestAgent::get_json(const std::string& path, Millis timeout) const {
  auto r = http_get(ip_, http_port_, path, timeout);
  if (!r || r->status != 200) return nullptr;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::string TestAgent::status_of(const std::string& name) const {
  const auto ms = members();
  if (!ms.is_array()) return "";
  for (const auto& m : ms) {
    if (m.value("name", "") == name) return m.value("status", "");
  }
  return "";
}

size_t TestAgent::count_status(const std::string& status) const {
  const auto ms = members();
  if (!ms.is_array()) return 0;
  size_t n = 0;
  for (const auto& m : ms) n += m.value("status", "") == status ? 1 : 0;
  return n;
}

std::string TestAgent::metrics() const {
  auto r = http_get(ip_, http_port_, "/v1/metrics", 2s);
  return r && r->status == 200 ? r->body : std::string();
}

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

std::string new_key() {
  crypto::init();
  return crypto::ClusterKey::generate().to_base64();
}

std::string key_id_of(const std::string& base64_key) {
  crypto::init();
  auto key = crypto::ClusterKey::from_base64(base64_key);
  return key.is_ok() ? node::key_id_hex(key->id()) : std::string("invalid-key");
}

}  // namespace shoal::testing
