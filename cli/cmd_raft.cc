// `shoal raft peers|transfer-leader|recover`: the Raft configuration.
// `peers` lists the voters, learners and observers (GET /v1/raft/peers);
// `transfer-leader [NODE]` asks the leader to hand over leadership
// (POST /v1/raft/transfer-leader).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

int write_or_fail(const std::string& text) { return write_stdout(text) ? kExitOk : kExitFailure; }

std::string string_of(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

class RaftCommand final : public Command {
 public:
  explicit RaftCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("raft", "Inspect or repair the Raft configuration")) {
    app_->allow_extras();

    peers_ = app_->add_subcommand("peers", "List the Raft voters, learners and observers");
    peers_->add_flag("--json", json_, "Print the agent's JSON");

    transfer_ = app_->add_subcommand("transfer-leader",
                                     "Ask the leader to hand leadership to another voter");
    transfer_->add_option("NODE", node_, "The new leader, by name or id (default: any voter)");
    transfer_->add_flag("--json", json_, "Print the agent's JSON answer");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    if (!peers_->parsed() && !transfer_->parsed()) {
      return fail(kExitUsage, "raft needs a command: peers or transfer-leader");
    }
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    if (peers_->parsed()) return peers(*client);
    return transfer(*client);
  }

 private:
  int peers(const ApiClient& client) {
    auto res = client.get("/v1/raft/peers");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    auto body = json::parse(res->body, nullptr, false);
    if (!body.is_object()) return fail(kExitFailure, "the agent sent malformed JSON");
    if (json_) return write_or_fail(body.dump(2) + "\n");

    const std::string leader = string_of(body, "leader");
    std::vector<TableRow> rows;
    for (const char* section : {"voters", "learners", "observers"}) {
      if (!body.contains(section) || !body[section].is_array()) continue;
      std::vector<TableRow> part;
      for (const auto& p : body[section]) {
        const std::string id = string_of(p, "id");
        std::string role = std::string(section);
        role.pop_back();  // "voters" -> "voter"
        if (!leader.empty() && id == leader) role = "leader";
        part.push_back({string_of(p, "name"), id.substr(0, 8), string_of(p, "address"), role,
                        string_of(p, "zone")});
      }
      std::sort(part.begin(), part.end());
      rows.insert(rows.end(), part.begin(), part.end());
    }
    return write_or_fail(format_table({"NAME", "ID", "ADDRESS", "ROLE", "ZONE"}, rows));
  }

  int transfer(const ApiClient& client) {
    json request = json::object();
    if (!node_.empty()) request["to"] = node_;
    auto res = client.post("/v1/raft/transfer-leader", request.dump());
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    auto body = json::parse(res->body, nullptr, false);
    if (!body.is_object()) return fail(kExitFailure, "the agent sent malformed JSON");
    if (json_) return write_or_fail(body.dump(2) + "\n");
    std::string name = string_of(body, "leader_name");
    if (name.empty()) name = string_of(body, "leader");
    if (name.empty()) name = "(unknown)";
    return write_or_fail("leadership transferred to " + name + "\n");
  }

  CLI::App* app_;
  CLI::App* peers_;
  CLI::App* transfer_;
  std::string node_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> add_raft_command(CLI::App& shoal) {
  return std::make_unique<RaftCommand>(shoal);
}

}  // namespace shoal::cli
