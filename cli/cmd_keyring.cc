// `shoal keyring list|install [KEY|-]|use KEY_ID|remove KEY_ID`: the cluster
// keyring (GET and POST /v1/keyring). Operations apply to every member; the
// agent answers once every member answered or the query deadline passed.
// Rotation: install the new key, use it, then remove the old one. Only
// install takes key material (best from --key-file or stdin, which no other
// local user can read in /proc); use and remove take the 8-hex-digit id that
// `list` and `install` print.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"
#include "core/crypto.h"
#include "node/config/agent_config_file.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

// "install failed on 1 of 3 nodes: node-3: <why>; no answer from node-4".
std::string describe_failure(const json& body) {
  std::string out = body.value("error", std::string("the operation failed"));
  std::string details;
  if (body.contains("errors") && body["errors"].is_object()) {
    for (const auto& [name, why] : body["errors"].items()) {
      if (!details.empty()) details += "; ";
      details += name + ": " + (why.is_string() ? why.get<std::string>() : why.dump());
    }
  }
  if (body.contains("no_response") && body["no_response"].is_array() &&
      !body["no_response"].empty()) {
    std::string names;
    for (const auto& n : body["no_response"]) {
      if (!names.empty()) names += ", ";
      names += n.is_string() ? n.get<std::string>() : n.dump();
    }
    if (!details.empty()) details += "; ";
    details += "no answer from " + names;
  }
  return details.empty() ? out : out + ": " + details;
}

class KeyringCommand final : public Command {
 public:
  explicit KeyringCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("keyring", "List or change the cluster keyring")) {
    app_->allow_extras();
    app_->add_flag("--json", json_, "Print the agent's JSON answer");
    list_ = app_->add_subcommand("list", "List the keys, and how many members hold each");
    list_->add_flag("--local", local_, "Only this agent's keys, without asking the cluster");
    list_->add_flag("--json", json_, "Print the agent's JSON answer");
    install_ =
        app_->add_subcommand("install", "Install a key on every member (it decrypts from now on)");
    install_->add_option("KEY", key_,
                         "Base64 cluster key (from `shoal keygen`); \"-\" or omitted: read it "
                         "from stdin. A key on the command line is visible to local users");
    install_->add_option("--key-file", key_file_, "Read the key from this file");
    install_->add_flag("--json", json_, "Print the agent's JSON answer");
    ops_.push_back(install_);
    for (const char* op : {"use", "remove"}) {
      const std::string help = std::string(op) == "use"
                                   ? "Make an installed key the primary on every member"
                                   : "Remove a key (not the primary) from every member";
      CLI::App* sub = app_->add_subcommand(op, help);
      sub->add_option("KEY_ID", key_id_, "The key's id, 8 hex digits (see `shoal keyring list`)")
          ->required();
      sub->add_flag("--json", json_, "Print the agent's JSON answer");
      ops_.push_back(sub);
    }
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    if (list_->parsed()) return list(*client);
    for (CLI::App* sub : ops_) {
      if (sub->parsed()) return change(*client, sub->get_name());
    }
    return fail(kExitUsage, "keyring needs a command: list, install, use or remove");
  }

 private:
  int list(const ApiClient& client) {
    auto res = client.get(local_ ? "/v1/keyring?local" : "/v1/keyring");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    if (json_) return write_stdout(res->body) ? kExitOk : kExitFailure;
    auto body = json::parse(res->body, nullptr, false);
    if (!body.is_object() || !body.contains("keys")) {
      return fail(kExitFailure, "the agent sent malformed JSON");
    }
    if (body.value("insecure", false)) {
      return write_stdout("the agent runs with --insecure: no keyring\n") ? kExitOk : kExitFailure;
    }
    const bool counted = body.contains("nodes");
    const std::string nodes = counted ? std::to_string(body["nodes"].get<uint64_t>()) : "";
    std::vector<TableRow> rows;
    for (const auto& k : body["keys"]) {
      TableRow row{k.value("id", std::string()), k.value("primary", false) ? "yes" : "no"};
      if (counted) {
        row.push_back(std::to_string(k.value("nodes", uint64_t{0})) + "/" + nodes);
        row.push_back(std::to_string(k.value("primary_nodes", uint64_t{0})) + "/" + nodes);
        row.push_back(k.value("local", true) ? "yes" : "no");
      }
      rows.push_back(std::move(row));
    }
    TableRow header = counted ? TableRow{"ID", "PRIMARY", "INSTALLED", "PRIMARY ON", "HERE"}
                              : TableRow{"ID", "PRIMARY"};
    std::string out = format_table(header, rows);
    if (counted && body.contains("no_response") && !body["no_response"].empty()) {
      out += std::to_string(body["no_response"].size()) + " member(s) did not answer\n";
    }
    return write_stdout(out) ? kExitOk : kExitFailure;
  }

  // The key for install: --key-file (read as the agent reads --encrypt-file),
  // else KEY, else the first line of stdin ("-" or omitted).
  Result<std::string> install_key() const {
    std::string text;
    if (!key_file_.empty()) {
      if (!key_.empty()) return Status::invalid_argument("give KEY or --key-file, not both");
      auto secret = node::read_secret(key_file_);
      if (!secret.is_ok()) {
        return Status::invalid_argument("--key-file: " + secret.status().message());
      }
      text = std::move(secret).value();
    } else if (!key_.empty() && key_ != "-") {
      text = key_;
    } else {
      std::getline(std::cin, text);
      if (text.ends_with('\r')) text.pop_back();
    }
    crypto::init();
    auto key = crypto::ClusterKey::from_base64(text);
    if (!key.is_ok()) return Status::invalid_argument("KEY: " + key.status().message());
    return text;
  }

  int change(const ApiClient& client, const std::string& op) {
    json request = {{"op", op}};
    if (op == "install") {
      auto key = install_key();
      if (!key.is_ok()) return fail(kExitUsage, key.status().message());
      request["key"] = *key;
    } else {
      if (key_id_.size() != 8 ||
          key_id_.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        return fail(kExitUsage, "KEY_ID: \"" + key_id_ +
                                    "\" is not a key id (8 hex digits, see `shoal keyring list`)");
      }
      request["key_id"] = key_id_;
    }
    auto res = client.post("/v1/keyring", request.dump());
    if (!res.is_ok()) return report_unreachable(res.status());
    auto body = json::parse(res->body, nullptr, false);
    if (res->status != 200) {
      if (res->status == 400 || !body.is_object()) return report_api_error(*res);
      return fail(kExitFailure, describe_failure(body));
    }
    if (json_) return write_stdout(res->body) ? kExitOk : kExitFailure;
    const std::string verb = op == "install" ? "installed" : op == "use" ? "now using" : "removed";
    return write_stdout(verb + " key " + body.value("key_id", std::string()) + " on " +
                        std::to_string(body.value("ok", uint64_t{0})) + " of " +
                        std::to_string(body.value("nodes", uint64_t{0})) + " node(s)\n")
               ? kExitOk
               : kExitFailure;
  }

  CLI::App* app_;
  CLI::App* list_;
  CLI::App* install_;
  std::vector<CLI::App*> ops_;
  std::string key_;
  std::string key_file_;
  std::string key_id_;
  bool json_ = false;
  bool local_ = false;
};

}  // namespace

std::unique_ptr<Command> add_keyring_command(CLI::App& shoal) {
  return std::make_unique<KeyringCommand>(shoal);
}

}  // namespace shoal::cli
