// `shoal snapshot save FILE` and `shoal snapshot restore FILE`: the whole
// replicated state as one opaque file (GET and PUT /v1/snapshot). save writes
// FILE atomically (a temporary file, fsync, rename), so a failed save never
// leaves a torn FILE behind.
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/api_client.h"
#include "cli/command.h"
#include "cli/table.h"
#include "node/host/atomic_file.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

// A snapshot of a large state takes a while to produce and to apply.
constexpr std::chrono::milliseconds kSnapshotTimeout = std::chrono::minutes(10);

int write_or_fail(const std::string& text) { return write_stdout(text) ? kExitOk : kExitFailure; }

class SnapshotCommand final : public Command {
 public:
  explicit SnapshotCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand("snapshot", "Save or restore the whole replicated state")) {
    app_->allow_extras();
    save_ = app_->add_subcommand("save", "Save a snapshot of the replicated state to FILE");
    save_->add_option("FILE", file_, "Where to write the snapshot")->required();
    save_->add_flag("--json", json_, "Print {file, bytes, index} as JSON");
    restore_ = app_->add_subcommand(
        "restore", "Replace the replicated state with a snapshot from FILE (cluster-wide)");
    restore_->add_option("FILE", file_, "A file written by `shoal snapshot save`")->required();
    restore_->add_flag("--json", json_, "Print the agent's JSON answer");
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    if (!save_->parsed() && !restore_->parsed()) {
      return fail(kExitUsage, "snapshot needs a command: save or restore");
    }
    if (file_.empty()) return fail(kExitUsage, "FILE must not be empty");
    auto client = ApiClient::from_env();
    if (!client.is_ok()) return fail(kExitUsage, client.status().message());
    return save_->parsed() ? save(*client) : restore(*client);
  }

 private:
  int save(const ApiClient& client) {
    auto res = client.get("/v1/snapshot", kSnapshotTimeout);
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    Status st = node::write_file_atomic(file_, res->body, 0600);
    if (!st.is_ok()) return fail(kExitFailure, st.message());
    const std::string index = res->header("x-shoal-index");
    if (json_) {
      json out = {{"file", file_}, {"bytes", res->body.size()}};
      if (!index.empty()) out["index"] = index;
      return write_or_fail(out.dump(2) + "\n");
    }
    return write_or_fail("saved " + std::to_string(res->body.size()) + " bytes to " + file_ +
                         (index.empty() ? "" : " (index " + index + ")") + "\n");
  }

  int restore(const ApiClient& client) {
    std::ifstream in(file_, std::ios::binary);
    if (!in) return fail(kExitFailure, "cannot open " + file_);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return fail(kExitFailure, "cannot read " + file_);
    if (body.empty()) return fail(kExitFailure, file_ + " is empty: not a snapshot");
    auto res = client.put("/v1/snapshot", body, "application/octet-stream", kSnapshotTimeout);
    if (!res.is_ok()) return report_unreachable(res.status());
    if (res->status != 200) return report_api_error(*res);
    auto answer = json::parse(res->body, nullptr, false);
    if (!answer.is_object()) return fail(kExitFailure, "the agent sent malformed JSON");
    if (json_) return write_or_fail(answer.dump(2) + "\n");
    std::string index;
    if (answer.contains("index")) {
      index = answer["index"].is_number_unsigned() ? std::to_string(answer["index"].get<uint64_t>())
                                                   : answer["index"].dump();
    }
    return write_or_fail("restored " + file_ +
                         (index.empty() ? "" : " (state now at index " + index + ")") + "\n");
  }

  CLI::App* app_;
  CLI::App* save_;
  CLI::App* restore_;
  std::string file_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> add_snapshot_command(CLI::App& shoal) {
  return std::make_unique<SnapshotCommand>(shoal);
}

}  // namespace shoal::cli
