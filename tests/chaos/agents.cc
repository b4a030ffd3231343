// Starting, signalling and querying the agents of a chaos run.
#include "tests/chaos/agents.h"

#include <sys/stat.h>

#include <boost/beast/http/verb.hpp>
#include <csignal>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/chaos/http_client.h"

namespace shoal::chaos {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace http = boost::beast::http;

json get_json(const std::string& ip, const std::string& target, std::chrono::milliseconds timeout) {
  auto r = http_once(ip, kHttpPort, http::verb::get, target, timeout);
  if (r.kind != HttpOutcome::Kind::kResponse || r.status != 200) return nullptr;
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Agents::Agents(const ChaosOptions& options)
    : options_(options),
      key_file_(options.out / "cluster.key"),
      procs_(static_cast<size_t>(options.nodes)),
      expected_(static_cast<size_t>(options.nodes), false),
      paused_(static_cast<size_t>(options.nodes), false) {
  for (int i = 1; i <= options.nodes; ++i) {
    names_.push_back("n" + std::to_string(i));
    ips_.push_back(options.ip(i));
  }
}

bool Agents::make_key(std::string* why) {
  const auto log = options_.out / "keygen.out";
  std::filesystem::remove(log);
  ChildProcess p;
  p.start({options_.shoal.string(), "keygen"}, environment_with({}, {}), log,
          options_.out / "keygen.err");
  const auto st = p.wait_for(10s);
  if (!st || !st->exited || st->code != 0) {
    *why = "`" + options_.shoal.string() + " keygen` failed (" +
           (st ? st->describe() : std::string("hung")) +
           "): " + read_text(options_.out / "keygen.err");
    return false;
  }
  std::string key = read_text(log);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  {
    std::ofstream f(key_file_, std::ios::trunc);
    f << key << "\n";
  }
  ::chmod(key_file_.c_str(), 0600);
  std::filesystem::remove(log);
  std::filesystem::remove(options_.out / "keygen.err");
  return !key.empty();
}

std::vector<std::string> Agents::args(int i, bool first_start) const {
  const auto n = static_cast<size_t>(i);
  std::vector<std::string> a = {options_.shoal.string(),
                                "agent",
                                "--name",
                                names_[n],
                                "--bind",
                                ips_[n],
                                "--http-port",
                                std::to_string(kHttpPort),
                                "--gossip-port",
                                std::to_string(kGossipPort),
                                "--rpc-port",
                                std::to_string(kRpcPort),
                                "--data-dir",
                                (options_.out / names_[n]).string(),
                                "--encrypt-file",
                                key_file_.string(),
                                "--gossip-profile",
                                "local",
                                "--log-level",
                                "info"};
  if (first_start) {
    // The first agent is the seed everyone joins; the first three form the
    // cluster (with 5 nodes, the other two stay observers).
    if (i > 0) {
      a.insert(a.end(), {"--join", ips_[0] + ":" + std::to_string(kGossipPort)});
    }
    if (i < 3) a.insert(a.end(), {"--bootstrap-expect", "3"});
  } else {
    // A restart finds the cluster in its data dir; it joins every other agent
    // so that gossip reaches it whichever agents are up.
    for (int j = 0; j < size(); ++j) {
      if (j != i) {
        a.insert(a.end(),
                 {"--join", ips_[static_cast<size_t>(j)] + ":" + std::to_string(kGossipPort)});
      }
    }
  }
  if (options_.nodes == 5) a.insert(a.end(), {"--voters", "3"});
  return a;
}

std::vector<std::string> Agents::env() const {
  std::vector<std::string> faults = options_.agent_faults;
  if (options_.has_fault("power-cut") || options_.has_fault("power-cut-all")) {
    faults.emplace_back("power-cut");
  }
  std::vector<std::string> add;
  if (!faults.empty()) add.push_back("SHOAL_TEST_FAULTS=" + join_list(faults));
  // Nothing from the caller's shell may change how the agents run.
  return environment_with(
      {"SHOAL_TEST_FAULTS", "SHOAL_ENCRYPT", "SHOAL_API_TOKEN", "SHOAL_ADDR", "SHOAL_CONFIG"}, add);
}

void Agents::start_all() {
  for (int i = 0; i < size(); ++i) {
    const auto n = static_cast<size_t>(i);
    procs_[n].start(args(i, true), env(), options_.out / (names_[n] + ".out"),
                    options_.out / (names_[n] + ".err"));
    expected_[n] = true;
    paused_[n] = false;
  }
}

void Agents::restart(int i) {
  const auto n = static_cast<size_t>(i);
  if (procs_[n].running()) (void)procs_[n].kill_and_reap();
  procs_[n].start(args(i, false), env(), options_.out / (names_[n] + ".out"),
                  options_.out / (names_[n] + ".err"));
  expected_[n] = true;
  paused_[n] = false;
}

int Agents::index_of(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    if (names_[static_cast<size_t>(i)] == name) return i;
  }
  return -1;
}

void Agents::signal(int i, int sig) { procs_[static_cast<size_t>(i)].send_signal(sig); }

void Agents::pause(int i) {
  signal(i, SIGSTOP);
  paused_[static_cast<size_t>(i)] = true;
}

void Agents::resume(int i) {
  signal(i, SIGCONT);
  paused_[static_cast<size_t>(i)] = false;
}

ExitInfo Agents::kill9(int i) {
  const auto n = static_cast<size_t>(i);
  expected_[n] = false;
  paused_[n] = false;
  return procs_[n].kill_and_reap();
}

ExitInfo Agents::wait_exit_or_kill(int i, std::chrono::milliseconds timeout) {
  const auto n = static_cast<size_t>(i);
  expected_[n] = false;
  paused_[n] = false;
  if (auto st = procs_[n].wait_for(timeout)) return *st;
  return procs_[n].kill_and_reap();
}

std::vector<std::pair<int, ExitInfo>> Agents::unexpected_exits() {
  std::vector<std::pair<int, ExitInfo>> out;
  for (int i = 0; i < size(); ++i) {
    const auto n = static_cast<size_t>(i);
    if (!expected_[n]) continue;
    if (auto st = procs_[n].wait_for(0ms)) {
      expected_[n] = false;
      out.emplace_back(i, *st);
    }
  }
  return out;
}

void Agents::stop_all(std::chrono::milliseconds timeout) {
  for (int i = 0; i < size(); ++i) {
    const auto n = static_cast<size_t>(i);
    expected_[n] = false;
    procs_[n].send_signal(SIGCONT);
    paused_[n] = false;
    procs_[n].send_signal(SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& p : procs_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!p.wait_for(std::max(left, 0ms))) (void)p.kill_and_reap();
  }
}

json Agents::status(int i, std::chrono::milliseconds timeout) const {
  return get_json(ip(i), "/v1/status", timeout);
}

std::string Agents::leader_name() const {
  std::map<std::string, int> votes;
  for (int i = 0; i < size(); ++i) {
    if (paused_[static_cast<size_t>(i)] || !expected_[static_cast<size_t>(i)]) continue;
    const json s = status(i, 500ms);
    if (!s.is_object()) continue;
    const std::string l = s.value("leader_name", "");
    if (!l.empty()) ++votes[l];
  }
  std::string best;
  int most = 0;
  for (const auto& [name, n] : votes) {
    if (n > most) {
      best = name;
      most = n;
    }
  }
  return best;
}

bool Agents::wait_formed(std::chrono::milliseconds timeout, std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string missing;
  for (;;) {
    for (int i = 0; i < size(); ++i) {
      if (!procs_[static_cast<size_t>(i)].running()) {
        *why = name(i) + " exited while the cluster was forming (" +
               procs_[static_cast<size_t>(i)].wait_for(0ms).value_or(ExitInfo{}).describe() +
               "); its stderr ends:\n" + err_tail(i);
        return false;
      }
    }
    missing.clear();
    for (int i = 0; i < size(); ++i) {
      const json s = status(i, 1s);
      if (!s.is_object() || s.value("leader", "").empty()) {
        missing += " " + name(i) + " (no leader)";
        continue;
      }
      if (options_.nodes == 5) {
        const json p = get_json(ip(i), "/v1/raft/peers", 1s);
        if (!p.is_object() || !p["voters"].is_array() || !p["observers"].is_array() ||
            p["voters"].size() != 3 || p["observers"].size() != 2) {
          missing += " " + name(i) + " (peers: " + (p.is_object() ? p.dump() : "no answer") + ")";
        }
      }
    }
    if (missing.empty()) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      *why = "the cluster did not form within " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
             " s; still waiting for:" + missing;
      return false;
    }
    std::this_thread::sleep_for(200ms);
  }
}

bool Agents::wait_whole(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (int i = 0; i < size() && all; ++i) {
      const json s = status(i, 1s);
      all = s.is_object() && !s.value("leader", "").empty();
    }
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
}

std::string Agents::err_tail(int i, size_t lines) const {
  const std::string text = read_text(options_.out / (name(i) + ".err"));
  std::deque<std::string> tail;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  " + l + "\n";
  return out;
}

}  // namespace shoal::chaos
