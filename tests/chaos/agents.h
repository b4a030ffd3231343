// The cluster under test: `shoal agent` processes n1..nN on 127.0.<block>.N,
// each with its data dir <out>/nI and logs <out>/nI.{out,err} (appended
// across restarts). Starts them (3 nodes: all voters; 5 nodes: 3 voters and
// 2 observers), restarts them on their data dirs, sends them signals, and
// asks them about the cluster (/v1/status, /v1/raft/peers).
//
// Every method runs on the tool's main thread (see child_process.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/chaos/child_process.h"
#include "tests/chaos/options.h"

namespace shoal::chaos {

inline constexpr uint16_t kHttpPort = 7780;
inline constexpr uint16_t kRpcPort = 7781;
inline constexpr uint16_t kGossipPort = 7782;

class Agents {
 public:
  explicit Agents(const ChaosOptions& options);

  // Creates the run dir's cluster key with `shoal keygen` (mode 0600).
  bool make_key(std::string* why);
  // Starts every agent with its bootstrap flags.
  void start_all();
  // Polls until every agent reports a leader (and, with 5 nodes, 3 voters and
  // 2 observers); false with the reason after timeout or when an agent exits.
  bool wait_formed(std::chrono::milliseconds timeout, std::string* why);
  // Polls until every agent answers /v1/status with a leader.
  bool wait_whole(std::chrono::milliseconds timeout);

  int size() const { return static_cast<int>(names_.size()); }
  const std::string& name(int i) const { return names_[static_cast<size_t>(i)]; }
  const std::string& ip(int i) const { return ips_[static_cast<size_t>(i)]; }
  int index_of(const std::string& name) const;  // -1 if unknown

  // (Re)starts agent i on its data dir, joining the others.
  void restart(int i);
  bool running(int i) { return procs_[static_cast<size_t>(i)].running(); }
  bool paused(int i) const { return paused_[static_cast<size_t>(i)]; }
  void signal(int i, int sig);
  void pause(int i);
  void resume(int i);
  // SIGKILL and reap.
  ExitInfo kill9(int i);
  // Waits for agent i to exit on its own; SIGKILL after timeout. The status.
  ExitInfo wait_exit_or_kill(int i, std::chrono::milliseconds timeout);
  // Agents that exited although nobody stopped them, with how they ended;
  // each is reported once.
  std::vector<std::pair<int, ExitInfo>> unexpected_exits();
  // SIGCONT, SIGTERM, SIGKILL after timeout; every agent.
  void stop_all(std::chrono::milliseconds timeout);

  // /v1/status of agent i, or null.
  nlohmann::json status(int i, std::chrono::milliseconds timeout) const;
  // The leader's name as most running, unpaused agents see it; "" if none.
  std::string leader_name() const;
  // The last lines of agent i's stderr log.
  std::string err_tail(int i, size_t lines = 15) const;

 private:
  std::vector<std::string> args(int i, bool first_start) const;
  std::vector<std::string> env() const;

  const ChaosOptions& options_;
  std::filesystem::path key_file_;
  std::vector<std::string> names_;
  std::vector<std::string> ips_;
  std::vector<ChildProcess> procs_;
  std::vector<bool> expected_;  // should be running
  std::vector<bool> paused_;
};

}  // namespace shoal::chaos
