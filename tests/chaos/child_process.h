// Child processes of the chaos tool: agents and iptables. stdout and stderr
// are appended to files (an agent restarted on its data dir keeps adding to
// the same logs), stdin is /dev/null, each child gets its own process group
// (a Ctrl-C at the terminal reaches the tool, which then stops the agents in
// order) and dies with SIGKILL if the tool itself dies.
//
// The death signal is tied to the thread that forked, so every ChildProcess
// must be started from the tool's main thread, which lives as long as the
// process does; start() throws when called from another thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace shoal::chaos {

struct ExitInfo {
  bool exited = false;  // exited normally with `code`; otherwise killed by `signal`
  int code = -1;
  int signal = 0;
  std::string describe() const;  // "exit code 1" or "killed by signal 9"
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps a child still running.
  ~ChildProcess();

  // Starts argv (argv[0] is a path) with `env` as its whole environment.
  // Throws std::runtime_error when it cannot fork.
  void start(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::filesystem::path& out_file, const std::filesystem::path& err_file);
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Sends sig if the child is still running (not yet reaped).
  void send_signal(int sig);
  // The exit status once the child has ended, or nullopt if it still runs
  // when the timeout passes. Reaps it.
  std::optional<ExitInfo> wait_for(std::chrono::milliseconds timeout);
  bool running();
  // SIGKILL and reap.
  ExitInfo kill_and_reap();

 private:
  pid_t pid_ = -1;
  std::optional<ExitInfo> status_;
};

// This process's environment minus every variable named in `drop`, plus
// `add` ("NAME=value").
std::vector<std::string> environment_with(const std::vector<std::string>& drop,
                                          const std::vector<std::string>& add);

// Runs argv to completion (at most `timeout`, then SIGKILL) with this
// process's environment; its output is appended to log_file. The exit info.
ExitInfo run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                     std::chrono::milliseconds timeout);

}  // namespace shoal::chaos
