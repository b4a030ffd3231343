// `shoal raft peers|transfer-leader|recover`: the Raft configuration.
// `peers` lists the voters, learners and observers (GET /v1/raft/peers);
// `transfer-leader [NODE]` asks the leader to hand over leadership
// (POST /v1/raft/transfer-leader); `recover` is offline: with the agent
// stopped, it rewrites the Raft state in a data dir so that the given nodes
// are the only voters (for a cluster that lost its quorum for good).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"
#include "core/ids.h"
#include "node/consensus/raft_recover.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

int write_or_fail(const std::string& text) { return write_stdout(text) ? kExitOk : kExitFailure; }

std::string string_of(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// "id1, id2" (full ids), or "(none)".
std::string id_list(const std::vector<NodeId>& ids) {
  if (ids.empty()) return "(none)";
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id.to_string();
  return out;
}

// Node ids separated by commas (spaces around them are fine); every id
// exactly 32 hex digits, no duplicates, at least one.
Result<std::vector<NodeId>> parse_peers(const std::string& text) {
  std::vector<NodeId> ids;
  std::set<NodeId> seen;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (part.empty()) return Status::invalid_argument("--peers: an empty node id");
    auto id = NodeId::parse(part);
    if (!id.is_ok()) {
      return Status::invalid_argument("--peers: \"" + part +
                                      "\" is not a node id (32 hex digits, see `shoal members`)");
    }
    if (!seen.insert(*id).second) {
      return Status::invalid_argument("--peers: " + part + " is listed twice");
    }
    ids.push_back(*id);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ids;
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

    recover_ = app_->add_subcommand(
        "recover",
        "OFFLINE, agent stopped: make the given nodes the only Raft voters (lost quorum)");
    recover_->add_option("--data-dir", data_dir_, "The stopped agent's data dir")->required();
    recover_->add_option("--peers", peers_text_, "The new voters: node ids, comma-separated")
        ->required()
        ->type_name("ID,ID,...");
    recover_->add_flag("--yes", yes_, "Do not ask for confirmation");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    if (recover_->parsed()) return recover();
    if (!peers_->parsed() && !transfer_->parsed()) {
      return fail(kExitUsage, "raft needs a command: peers, transfer-leader or recover");
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

  int recover() {
    auto voters = parse_peers(peers_text_);
    if (!voters.is_ok()) return fail(kExitUsage, voters.status().message());
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path data_dir(data_dir_);
    if (!fs::is_directory(data_dir, ec)) {
      return fail(kExitFailure, "data dir " + data_dir_ + " does not exist or is not a directory");
    }
    const fs::path raft_dir = data_dir / node::kRaftDirName;
    if (!fs::is_directory(raft_dir, ec)) {
      return fail(kExitFailure, "no Raft state in " + raft_dir.string() +
                                    " (is this a server agent's data dir?)");
    }

    std::string plan =
        "This rewrites the Raft state in " + raft_dir.string() + " so that the only voters are:\n";
    for (const auto& id : *voters) plan += "  " + id.to_string() + "\n";
    plan +=
        "Run it only with the agent stopped, with the same --peers on every node listed.\n"
        "Entries that only the lost nodes hold are gone, even committed ones.\n";
    if (!write_stdout(plan)) return kExitFailure;
    if (!yes_) {
      if (!write_stdout("Type 'recover' to continue: ")) return kExitFailure;
      std::string answer;
      std::getline(std::cin, answer);
      if (!answer.empty() && answer.back() == '\r') answer.pop_back();
      if (answer != "recover") {
        write_stdout("\n");
        return fail(kExitFailure, "aborted");
      }
    }

    auto result = node::recover_raft(raft_dir, *voters);
    if (!result.is_ok()) return fail(kExitFailure, result.status().message());
    std::string out = "old voters:   " + id_list(result->old_conf.voters) + "\n";
    if (!result->old_conf.learners.empty()) {
      out += "old learners: " + id_list(result->old_conf.learners) + "\n";
    }
    out += "new voters:   " + id_list(result->new_conf.voters) + "\n";
    out += "recovered at term " + std::to_string(result->term) + ", index " +
           std::to_string(result->last_index) + "\n";
    return write_or_fail(out);
  }

  CLI::App* app_;
  CLI::App* peers_;
  CLI::App* transfer_;
  CLI::App* recover_;
  std::string node_;
  std::string data_dir_;
  std::string peers_text_;
  bool json_ = false;
  bool yes_ = false;
};

}  // namespace

std::unique_ptr<Command> add_raft_command(CLI::App& shoal) {
  return std::make_unique<RaftCommand>(shoal);
}

}  // namespace shoal::cli
