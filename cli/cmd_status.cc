// `shoal status [--json]`: a summary of the cluster as this agent sees it
// (GET /v1/status): the cluster id, the Raft leader, term and indexes, this
// agent's role, how many members are alive and how many vote.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"

namespace shoal::cli {
namespace {

// "node-1 (3f2a9c01)", "3f2a9c01" without a name, "(none)" without a leader.
std::string leader_of(const nlohmann::json& s) {
  const std::string id = text_of(s, "leader");
  const std::string name = text_of(s, "leader_name");
  if (id.empty() && name.empty()) return "(none)";
  if (name.empty()) return id.substr(0, 8);
  if (id.empty()) return name;
  return name + " (" + id.substr(0, 8) + ")";
}

class StatusCommand final : public Command {
 public:
  explicit StatusCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("status", "Summarize the cluster as this agent sees it")) {
    app_->allow_extras();
    app_->add_flag("--json", json_, "Print the agent's JSON");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    auto res = client->get("/v1/status");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    auto s = nlohmann::json::parse(res->body, nullptr, false);
    if (!s.is_object()) return fail(kExitFailure, "the agent sent malformed JSON");
    if (json_) return write_stdout(s.dump(2) + "\n") ? kExitOk : kExitFailure;

    const std::string cluster = text_of(s, "cluster_id");
    std::vector<std::pair<std::string, std::string>> lines = {
        {"Cluster", cluster.empty() ? "(not bootstrapped)" : cluster},
        {"Leader", leader_of(s)},
        {"Role", text_of(s, "role").empty() ? "none" : text_of(s, "role")},
        {"Term", text_of(s, "term")},
        {"Commit index", text_of(s, "commit_index")},
        {"Applied index", text_of(s, "applied_index")},
        {"Members alive", text_of(s, "members_alive")},
        {"Voters", text_of(s, "voters")},
    };
    if (const std::string b = text_of(s, "bootstrap"); !b.empty())
      lines.emplace_back("Bootstrap", b);
    size_t width = 0;
    for (const auto& [k, v] : lines) width = std::max(width, k.size());
    std::string out;
    for (const auto& [k, v] : lines) {
      out += k + ":" + std::string(width - k.size() + 1, ' ') + v + "\n";
    }
    return write_stdout(out) ? kExitOk : kExitFailure;
  }

 private:
  CLI::App* app_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> add_status_command(CLI::App& shoal) {
  return std::make_unique<StatusCommand>(shoal);
}

}  // namespace shoal::cli
