// `shoal join ADDR...` and `shoal leave`: ask the local agent to join a
// cluster through the given agents (POST /v1/agent/join), or to leave its
// cluster gracefully and stop (POST /v1/agent/leave).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"

namespace shoal::cli {
namespace {

class JoinCommand final : public Command {
 public:
  explicit JoinCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand(
            "join", "Join the local agent to a cluster through one or more of its agents")) {
    app_->allow_extras();
    app_->add_option("ADDR", addrs_,
                     "ADDR[:PORT] of an agent in the cluster (the port defaults to the local "
                     "agent's gossip port)")
        ->required();
    app_->add_flag("--json", json_, "Print the agent's JSON answer");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    const nlohmann::json body = {{"addrs", addrs_}};
    auto res = client->post("/v1/agent/join", body.dump());
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    if (json_) return write_stdout(res->body) ? kExitOk : kExitFailure;
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    const uint64_t joined = j.is_object() ? j.value("joined", uint64_t{0}) : 0;
    return write_stdout("joined the cluster: " + std::to_string(joined) + " of " +
                        std::to_string(addrs_.size()) + " address(es) answered\n")
               ? kExitOk
               : kExitFailure;
  }

 private:
  CLI::App* app_;
  std::vector<std::string> addrs_;
  bool json_ = false;
};

class LeaveCommand final : public Command {
 public:
  explicit LeaveCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("leave",
                                  "Make the local agent leave its cluster gracefully, then stop")) {
    app_->allow_extras();
    app_->add_flag("--json", json_, "Print the agent's JSON answer");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    auto res = client->post("/v1/agent/leave", "{}");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    if (json_) return write_stdout(res->body) ? kExitOk : kExitFailure;
    return write_stdout("left the cluster; the agent is stopping\n") ? kExitOk : kExitFailure;
  }

 private:
  CLI::App* app_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> add_join_command(CLI::App& shoal) {
  return std::make_unique<JoinCommand>(shoal);
}

std::unique_ptr<Command> add_leave_command(CLI::App& shoal) {
  return std::make_unique<LeaveCommand>(shoal);
}

}  // namespace shoal::cli
