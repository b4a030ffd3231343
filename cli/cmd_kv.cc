// `shoal kv get|put|delete|list`: the replicated key/value store
// (GET/PUT/DELETE /v1/kv/<key>, DESIGN.md §4). Keys are percent-encoded in
// the path; values are bytes (base64 in the agent's JSON). `--cas INDEX`
// writes or deletes only if the key's modify index still is INDEX (0: only if
// the key does not exist yet).
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

// Standard base64 with padding; nullopt when malformed.
std::optional<std::string> decode_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

// The decoded size of a padded base64 text, without decoding it.
uint64_t decoded_size(const std::string& b64) {
  if (b64.size() < 4) return 0;
  uint64_t n = b64.size() / 4 * 3;
  if (b64.ends_with("==")) return n - 2;
  if (b64.ends_with('=')) return n - 1;
  return n;
}

std::string number_of(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j[key];
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// An empty key (kv list from the root) is /v1/kv: the router wants no empty segment.
std::string kv_path(const std::string& key) {
  return key.empty() ? "/v1/kv" : "/v1/kv/" + percent_encode_path(key);
}

// "?a&b=1" from the parts that apply.
std::string query_of(const std::vector<std::string>& parts) {
  std::string q;
  for (const auto& p : parts) q += (q.empty() ? "?" : "&") + p;
  return q;
}

int write_or_fail(const std::string& text) { return write_stdout(text) ? kExitOk : kExitFailure; }

// A 404 from the agent's router (no route for the path) rather than from the
// KV store (no key under the prefix).
bool is_missing_endpoint(const ApiResponse& res) {
  auto body = json::parse(res.body, nullptr, false);
  return body.is_object() && body.value("error", std::string()).starts_with("no such endpoint");
}

std::string not_found(const std::string& key) { return "key \"" + key + "\" not found"; }

// A failed write: 409 (a failed check-and-set) and 404 get a message of
// their own; everything else is the agent's error.
int report_write_error(const ApiResponse& res, const std::string& key) {
  if (res.status == 404) return fail(kExitFailure, not_found(key));
  if (res.status == 409) {
    auto body = json::parse(res.body, nullptr, false);
    std::string why = body.is_object() ? body.value("error", std::string()) : std::string();
    if (why.empty()) why = "the key's modify index differs from --cas";
    if (!why.starts_with("check-and-set failed")) why = "check-and-set failed: " + why;
    return fail(kExitFailure, why);
  }
  return report_api_error(res);
}

class KvCommand final : public Command {
 public:
  explicit KvCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("kv", "Read and write the replicated key/value store")) {
    app_->allow_extras();

    get_ = app_->add_subcommand("get", "Print a key's value");
    get_->add_option("KEY", key_, "The key")->required();
    auto* raw = get_->add_flag("--raw", raw_, "Ask the agent for the bare bytes (no JSON)");
    get_->add_flag("--stale", stale_, "Read this agent's replica instead of asking the leader");
    get_->add_flag("--json", json_, "Print the agent's JSON entry (value in base64)")
        ->excludes(raw);

    put_ = app_->add_subcommand("put", "Write a key's value");
    put_->add_option("KEY", key_, "The key")->required();
    put_->add_option("VALUE", value_, "The value; read from stdin when omitted or \"-\"");
    cas_put_ = put_->add_option("--cas", cas_,
                                "Write only if the key's modify index is INDEX (0: only if new)");
    cas_put_->type_name("INDEX");
    put_->add_flag("--json", json_, "Print the agent's JSON answer");

    del_ = app_->add_subcommand("delete", "Delete a key, or every key under a prefix");
    del_->add_option("KEY", key_, "The key (the prefix with --recurse)")->required();
    cas_del_ = del_->add_option("--cas", cas_, "Delete only if the key's modify index is INDEX");
    cas_del_->type_name("INDEX");
    del_->add_flag("--recurse", recurse_, "Delete every key that starts with KEY")
        ->excludes(cas_del_);
    del_->add_flag("--json", json_, "Print the agent's JSON answer");

    list_ = app_->add_subcommand("list", "List the keys under a prefix");
    list_->add_option("PREFIX", key_, "Only keys that start with PREFIX (default: all)");
    list_->add_flag("--json", json_, "Print the agent's JSON entries");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    if (!get_->parsed() && !put_->parsed() && !del_->parsed() && !list_->parsed()) {
      return fail(kExitUsage, "kv needs a command: get, put, delete or list");
    }
    if (key_.empty() && !list_->parsed()) return fail(kExitUsage, "KEY must not be empty");
    if ((put_->parsed() && cas_put_->count() > 0) || (del_->parsed() && cas_del_->count() > 0)) {
      uint64_t index = 0;
      const auto [end, ec] = std::from_chars(cas_.data(), cas_.data() + cas_.size(), index);
      if (cas_.empty() || ec != std::errc() || end != cas_.data() + cas_.size()) {
        return fail(kExitUsage,
                    "--cas: \"" + cas_ + "\" is not a modify index (a non-negative integer)");
      }
      cas_ = std::to_string(index);
    }
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    if (get_->parsed()) return get(*client);
    if (put_->parsed()) return put(*client);
    if (del_->parsed()) return del(*client);
    return list(*client);
  }

 private:
  int get(const ApiClient& client) {
    std::vector<std::string> query;
    if (raw_) query.emplace_back("raw");
    if (stale_) query.emplace_back("stale");
    auto res = client.get(kv_path(key_) + query_of(query));
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status == 404) return fail(kExitFailure, not_found(key_));
    if (res->status != 200) return report_api_error(*res);
    if (raw_) return write_or_fail(res->body);
    auto entry = json::parse(res->body, nullptr, false);
    if (!entry.is_object() || !entry.contains("value") || !entry["value"].is_string()) {
      return fail(kExitFailure, "the agent sent malformed JSON");
    }
    if (json_) return write_or_fail(entry.dump(2) + "\n");
    auto value = decode_base64(entry["value"].get<std::string>());
    if (!value) return fail(kExitFailure, "the agent sent a value that is not base64");
    return write_or_fail(*value);
  }

  int put(const ApiClient& client) {
    std::string body;
    if (value_.has_value() && *value_ != "-") {
      body = *value_;
    } else {
      std::cin >> std::noskipws;
      body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (std::cin.bad()) return fail(kExitFailure, "cannot read the value from stdin");
    }
    std::vector<std::string> query;
    if (cas_put_->count() > 0) query.push_back("cas=" + cas_);
    auto res = client.put(kv_path(key_) + query_of(query), body, "application/octet-stream");
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_write_error(*res, key_);
    if (json_) return write_or_fail(res->body.ends_with('\n') ? res->body : res->body + "\n");
    return write_or_fail("Success! Data written to: " + key_ + "\n");
  }

  int del(const ApiClient& client) {
    std::vector<std::string> query;
    if (cas_del_->count() > 0) query.push_back("cas=" + cas_);
    if (recurse_) query.emplace_back("recurse");
    auto res = client.del(kv_path(key_) + query_of(query));
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_write_error(*res, key_);
    if (json_) return write_or_fail(res->body.ends_with('\n') ? res->body : res->body + "\n");
    return write_or_fail(recurse_ ? "Success! Deleted keys under: " + key_ + "\n"
                                  : "Success! Deleted key: " + key_ + "\n");
  }

  int list(const ApiClient& client) {
    auto res = client.get(kv_path(key_) + "?recurse");
    if (!res.is_ok()) return report_unreachable(res.status());
    json entries = json::array();
    if (res->status == 200) {
      entries = json::parse(res->body, nullptr, false);
      if (!entries.is_array()) return fail(kExitFailure, "the agent sent malformed JSON");
    } else if (res->status != 404 || is_missing_endpoint(*res)) {
      return report_api_error(*res);
    }
    if (json_) return write_or_fail(entries.dump(2) + "\n");
    if (entries.empty()) return kExitOk;
    std::vector<TableRow> rows;
    for (const auto& e : entries) {
      if (!e.is_object()) continue;
      const std::string value = e.contains("value") && e["value"].is_string()
                                    ? e["value"].get<std::string>()
                                    : std::string();
      rows.push_back({e.value("key", std::string()), number_of(e, "create_index"),
                      number_of(e, "modify_index"), std::to_string(decoded_size(value))});
    }
    return write_or_fail(format_table({"KEY", "CREATE", "MODIFY", "SIZE"}, rows));
  }

  CLI::App* app_;
  CLI::App* get_;
  CLI::App* put_;
  CLI::App* del_;
  CLI::App* list_;
  CLI::Option* cas_put_;
  CLI::Option* cas_del_;
  std::string key_;
  std::optional<std::string> value_;
  std::string cas_;
  bool raw_ = false;
  bool stale_ = false;
  bool json_ = false;
  bool recurse_ = false;
};

}  // namespace

std::unique_ptr<Command> add_kv_command(CLI::App& shoal) {
  return std::make_unique<KvCommand>(shoal);
}

}  // namespace shoal::cli
