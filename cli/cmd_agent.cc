// `shoal agent`: parses the agent's flags (node/config/agent_flags.h) into an
// AgentConfig, adds the environment, the --config file and the secret files
// and validates the whole (node/config/agent_config_file.h), sets up logging and
// runs the agent until SIGINT or SIGTERM. SIGHUP makes the agent load its
// configuration again the same way.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "cli/command.h"
#include "core/logging.h"
#include "node/agent.h"
#include "node/config/agent_config_file.h"
#include "node/config/agent_flags.h"

namespace shoal::cli {
namespace {

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

class AgentCommand final : public Command {
 public:
  explicit AgentCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("agent", "Run the Shoal agent (the daemon; one per host)")) {
    app_->allow_extras();
    for (const node::AgentFlag& flag : node::agent_flags()) {
      const std::string name = "--" + std::string(flag.name);
      const std::string help(flag.help);
      std::visit(
          [&](auto member) {
            auto& field = flags_.*member;
            using T = std::decay_t<decltype(field)>;
            if constexpr (std::is_same_v<T, bool>) {
              app_->add_flag(name, field, help);
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
              app_->add_option(name, field, help)->allow_extra_args(false);
            } else {
              app_->add_option(name, field, help);
            }
          },
          flag.field);
    }
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    std::vector<std::string> warnings;
    for (const node::AgentFlag& flag : node::agent_flags()) {
      if (app_->count("--" + std::string(flag.name)) == 0) continue;
      flags_.mark_explicit(std::string(flag.name));
      if (flag.secret) {
        warnings.push_back(
            "--" + std::string(flag.name) +
            " on the command line is visible to every local user in "
            "/proc/PID/cmdline; prefer --" +
            std::string(flag.name) + "-file or $" +
            std::string(flag.name == "encrypt" ? node::kEncryptEnv : node::kApiTokenEnv));
      }
    }
    // Taken once: tasks and hooks the agent starts later must not inherit them.
    for (const std::string& var : node::apply_environment(flags_, process_env)) {
      ::unsetenv(var.c_str());
    }
    auto config = node::load_agent_config(flags_);
    if (!config.is_ok()) return fail(kExitUsage, config.status().message());
    if (Status st = setup_logging(config->log_level, config->log_json); !st.is_ok()) {
      return fail(kExitUsage, st.message());
    }
    for (const auto& w : warnings) spdlog::warn("SECURITY: {}", w);
    for (const auto& w : config->warnings) spdlog::warn("SECURITY: {}", w);
    const bool json = config->log_json;
    // SIGHUP: the same flags (and environment), the file read again.
    node::Agent agent(std::move(config).value(),
                      [flags = flags_] { return node::load_agent_config(flags); });
    if (Status st = agent.run(); !st.is_ok()) {
      // A setting that is wrong only in context (no cluster key) is bad usage.
      const int code = st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
      // Log collectors reading --log-json output get the error as JSON too.
      if (json) {
        spdlog::critical("{}", st.message());
        spdlog::shutdown();
        return code;
      }
      return fail(code, st.message());
    }
    return kExitOk;
  }

 private:
  CLI::App* app_;
  node::AgentConfig flags_;  // as the command line (and environment) give them
};

}  // namespace

std::unique_ptr<Command> add_agent_command(CLI::App& shoal) {
  return std::make_unique<AgentCommand>(shoal);
}

}  // namespace shoal::cli
