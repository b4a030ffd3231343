// The subcommands of the `shoal` binary. Each one registers a CLI11
// subcommand with its flags bound to its own members, and runs once the
// command line has parsed. Exit codes and error output follow DESIGN.md §3:
// 0 on success, 1 when the agent or server fails, 2 on bad usage, and every
// error is one line "shoal: <reason>" on stderr.
#pragma once

#include <memory>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace shoal::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class Command {
 public:
  virtual ~Command() = default;
  // The CLI11 subcommand this command registered on the top-level app.
  virtual CLI::App& app() = 0;
  // Runs after a successful parse; returns the process exit code.
  virtual int run() = 0;
};

std::unique_ptr<Command> add_agent_command(CLI::App& shoal);
std::unique_ptr<Command> add_keygen_command(CLI::App& shoal);
std::unique_ptr<Command> add_members_command(CLI::App& shoal);
std::unique_ptr<Command> add_join_command(CLI::App& shoal);
std::unique_ptr<Command> add_leave_command(CLI::App& shoal);
std::unique_ptr<Command> add_keyring_command(CLI::App& shoal);
std::unique_ptr<Command> add_status_command(CLI::App& shoal);
std::unique_ptr<Command> add_kv_command(CLI::App& shoal);
std::unique_ptr<Command> add_raft_command(CLI::App& shoal);
std::unique_ptr<Command> add_snapshot_command(CLI::App& shoal);

// Writes "shoal: <message>" as a single line on stderr (newlines in message
// become spaces) and returns exit_code.
int fail(int exit_code, std::string_view message);

}  // namespace shoal::cli
