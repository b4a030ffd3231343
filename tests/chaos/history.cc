// history.jsonl: JSON conversion of OpRecord and the thread-safe writer.
#include "tests/chaos/history.h"

#include <fstream>

namespace shoal::chaos {

using nlohmann::json;

namespace {

json optional_string(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

}  // namespace

const char* kind_name(OpRecord::Kind k) {
  switch (k) {
    case OpRecord::Kind::kGet:
      return "get";
    case OpRecord::Kind::kPut:
      return "put";
    case OpRecord::Kind::kCas:
      return "cas";
  }
  return "?";
}

json to_json(const OpRecord& op) {
  json out = nullptr;
  if (op.ok && op.kind == OpRecord::Kind::kGet) out = optional_string(op.read);
  if (op.ok && op.kind == OpRecord::Kind::kCas) out = op.applied;
  json j{{"client", op.client},
         {"op", kind_name(op.kind)},
         {"key", op.key},
         {"value", optional_string(op.value)},
         {"expect", optional_string(op.expect)},
         {"out", out},
         {"ok", op.ok},
         {"unknown", op.unknown},
         {"call", op.call},
         {"ret", op.ret},
         {"node", op.node},
         {"status", op.status}};
  if (op.final_read) j["final"] = true;
  return j;
}

std::optional<OpRecord> op_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    OpRecord op;
    op.client = j.at("client").get<uint64_t>();
    const std::string kind = j.at("op").get<std::string>();
    if (kind == "get") {
      op.kind = OpRecord::Kind::kGet;
    } else if (kind == "put") {
      op.kind = OpRecord::Kind::kPut;
    } else if (kind == "cas") {
      op.kind = OpRecord::Kind::kCas;
    } else {
      return std::nullopt;
    }
    op.key = j.at("key").get<std::string>();
    if (j.contains("value") && j["value"].is_string()) op.value = j["value"].get<std::string>();
    if (j.contains("expect") && j["expect"].is_string()) op.expect = j["expect"].get<std::string>();
    op.ok = j.at("ok").get<bool>();
    op.unknown = j.at("unknown").get<bool>();
    op.call = j.at("call").get<int64_t>();
    op.ret = j.at("ret").get<int64_t>();
    const json& out = j.contains("out") ? j["out"] : json(nullptr);
    if (op.kind == OpRecord::Kind::kGet && out.is_string()) op.read = out.get<std::string>();
    if (op.kind == OpRecord::Kind::kCas) op.applied = out.is_boolean() && out.get<bool>();
    if (op.is_write() && !op.value) return std::nullopt;
    if (op.kind == OpRecord::Kind::kCas && !op.expect) return std::nullopt;
    if (j.contains("node") && j["node"].is_string()) op.node = j["node"].get<std::string>();
    if (j.contains("status") && j["status"].is_string()) op.status = j["status"].get<std::string>();
    op.final_read = j.value("final", false);
    return op;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

HistoryLog::HistoryLog(const std::filesystem::path& file) : file_(std::fopen(file.c_str(), "ae")) {}

HistoryLog::~HistoryLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void HistoryLog::append(const OpRecord& op) {
  const std::string line =
      to_json(op).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  ops_.push_back(op);
  if (file_ != nullptr) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
}

std::vector<OpRecord> HistoryLog::ops() const {
  std::lock_guard lock(mu_);
  return ops_;
}

std::vector<OpRecord> load_history(const std::filesystem::path& file, size_t* bad_lines) {
  std::vector<OpRecord> out;
  *bad_lines = 0;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto op = op_from_json(json::parse(line, nullptr, false));
    if (op) {
      out.push_back(std::move(*op));
    } else {
      ++*bad_lines;
    }
  }
  return out;
}

}  // namespace shoal::chaos
