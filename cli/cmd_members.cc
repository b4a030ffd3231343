// `shoal members [--json]`: the cluster's members as this agent sees them
// (GET /v1/members), as a table sorted by name or as the agent's JSON.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"

namespace shoal::cli {
namespace {

std::string address_of(const nlohmann::json& m) {
  const std::string addr = text_of(m, "addr");
  const std::string port = text_of(m, "port");
  if (port.empty()) return addr;
  return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + port;
}

class MembersCommand final : public Command {
 public:
  explicit MembersCommand(CLI::App& shoal)
      : app_(
            shoal.add_subcommand("members", "List the cluster's members as this agent sees them")) {
    app_->allow_extras();
    app_->add_flag("--json", json_, "Print the agent's JSON instead of a table");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    auto res = client->get("/v1/members");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    auto members = nlohmann::json::parse(res->body, nullptr, false);
    if (!members.is_array()) return fail(kExitFailure, "the agent sent malformed JSON");
    if (json_) return write_stdout(members.dump(2) + "\n") ? kExitOk : kExitFailure;

    std::vector<TableRow> rows;
    for (const auto& m : members) {
      if (!m.is_object()) continue;
      rows.push_back({text_of(m, "name"), text_of(m, "id").substr(0, 8), address_of(m),
                      text_of(m, "status"), text_of(m, "incarnation")});
    }
    std::sort(rows.begin(), rows.end());
    return write_stdout(format_table({"NAME", "ID", "ADDRESS", "STATUS", "INCARNATION"}, rows))
               ? kExitOk
               : kExitFailure;
  }

 private:
  CLI::App* app_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> add_members_command(CLI::App& shoal) {
  return std::make_unique<MembersCommand>(shoal);
}

}  // namespace shoal::cli
