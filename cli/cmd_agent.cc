// `shoal agent`: parses the agent's flags into an AgentConfig, applies the
// --dev rules and validation (node/agent_config.h), sets up logging and runs
// the agent until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <array>
#include <string>

#include "cli/command.h"
#include "core/logging.h"
#include "node/agent.h"
#include "node/agent_config.h"

namespace shoal::cli {
namespace {

// Flags whose explicit use must win over --dev and derived defaults; the
// names double as AgentConfig::explicit_keys.
constexpr std::array<const char*, 12> kTrackedFlags = {
    "name",    "data-dir",    "bind",      "http-bind", "http-port",        "advertise",
    "encrypt", "gossip-port", "resources", "rpc-port",  "bootstrap-expect", "api-token"};

class AgentCommand final : public Command {
 public:
  explicit AgentCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("agent", "Run the Shoal agent (the daemon; one per host)")) {
    app_->allow_extras();
    app_->add_flag("--dev", config_.dev,
                   "Try Shoal out: one node, a temporary data dir, everything on 127.0.0.1 "
                   "(explicit --bind and port flags still win); insecure");
    app_->add_option("--name", config_.name,
                     "Node name, unique in the cluster (default: the host name)");
    app_->add_option("--data-dir", config_.data_dir,
                     "Directory for the node id and state (default: /var/lib/shoal)");
    app_->add_option("--bind", config_.bind, "Address every listener binds (default: 0.0.0.0)");
    app_->add_option("--http-bind", config_.http_bind,
                     "Address of the HTTP API (default: 127.0.0.1, or --bind when that is "
                     "a loopback address)");
    app_->add_option("--http-port", config_.http_port, "HTTP API port (default: 7780)");
    app_->add_option("--advertise", config_.advertise,
                     "Address peers use to reach this node (default: --bind, or the first "
                     "non-loopback address when --bind is 0.0.0.0)");
    app_->add_option("--gossip-port", config_.gossip_port,
                     "Gossip port, UDP and TCP (default: 7782)");
    app_->add_option("--join", config_.join,
                     "ADDR[:PORT] of an agent to join (repeatable; the port defaults to "
                     "--gossip-port; retried with backoff until one answers)")
        ->allow_extra_args(false);
    app_->add_option("--encrypt", config_.encrypt,
                     "Base64 32-byte cluster key from `shoal keygen` (a keyring persisted in the "
                     "data dir wins)");
    app_->add_option("--keyring-file", config_.keyring_file,
                     "Keyring file: JSON {\"primary\", \"keys\"} or one base64 key per line, the "
                     "first being primary (a keyring persisted in the data dir wins)");
    app_->add_flag("--insecure", config_.insecure,
                   "Run without a cluster key: gossip is neither authenticated nor encrypted");
    app_->add_option("--cluster-label", config_.cluster_label,
                     "Label mixed into every packet, so clusters sharing a key stay apart");
    app_->add_option("--attr", config_.attrs,
                     "KEY=VALUE node attribute (repeatable), added to the detected os, arch, "
                     "kernel.version, cpu.cores, memory.mb and hostname")
        ->allow_extra_args(false);
    app_->add_option("--resources", config_.resources,
                     "Schedulable capacity cpu=MHZ,memory=MB (default: detected)");
    app_->add_option("--gossip-profile", config_.gossip_profile,
                     "Gossip timings: lan, wan or local (default: lan)");
    app_->add_option("--rpc-port", config_.rpc_port,
                     "TCP port for Raft and request forwarding, encrypted (default: 7781)");
    app_->add_option("--bootstrap-expect", config_.bootstrap_expect,
                     "Form a new cluster once N agents started with the same N see each other "
                     "(give it to the first agents only; 1 for a one-node cluster)");
    app_->add_option("--voters", config_.voters,
                     "Target number of Raft voters, kept automatically: 1, 3 or 5 (default: 3)");
    app_->add_option("--voter", config_.voter,
                     "auto, or never: this node is never made a voter (default: auto)");
    app_->add_option("--dead-voter-grace", config_.dead_voter_grace,
                     "How long a voter must be dead before it is replaced (default: 2m)");
    app_->add_option("--api-token", config_.api_token,
                     "Require Authorization: Bearer TOKEN on every API call but health");
    app_->add_option("--raft-snapshot-threshold", config_.raft_snapshot_threshold,
                     "Compact the Raft log after this many applied entries (default: 10000)");
    app_->add_option("--http-max-blocking-queries", config_.http_max_blocking_queries,
                     "Most blocking queries waiting at once; beyond it 429 (default: 4096)");
    app_->add_option("--log-level", config_.log_level,
                     "trace, debug, info, warn, error or off (default: info)");
    app_->add_flag("--log-json", config_.log_json, "Log one JSON object per line");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    for (const char* flag : kTrackedFlags) {
      if (app_->count(std::string("--") + flag) > 0) config_.mark_explicit(flag);
    }
    auto config = node::finalize(config_);
    if (!config.is_ok()) return fail(kExitUsage, config.status().message());
    if (Status st = setup_logging(config->log_level, config->log_json); !st.is_ok()) {
      return fail(kExitUsage, st.message());
    }
    const bool json = config->log_json;
    node::Agent agent(std::move(config).value());
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
  node::AgentConfig config_;
};

}  // namespace

std::unique_ptr<Command> add_agent_command(CLI::App& shoal) {
  return std::make_unique<AgentCommand>(shoal);
}

}  // namespace shoal::cli
