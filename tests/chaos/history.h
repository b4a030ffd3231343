// The operations a chaos run recorded, one JSON line each in history.jsonl:
//
//   {"client":N,"op":"put|get|cas","key":K,"value":V,"expect":E,"out":O,
//    "ok":bool,"unknown":bool,"call":ns,"ret":ns, "node":"nI","status":S}
//
// value: what a put or cas writes (null for a get); expect: the value a cas
// requires ("" = absent; null otherwise); out: a get's value (null = absent),
// a cas's applied flag, null for a put and for ops without a definite answer.
// ok: a definite answer (2xx, a cas's 409, a get's 404); ok:false with
// unknown:false: a definite failure (the op did not happen); unknown: the
// outcome is unknown (ret is then when the client gave up). node and status
// (the HTTP code or what went wrong) are for people reading the file;
// "final":true marks the reads of every key after the faults ended.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace shoal::chaos {

struct OpRecord {
  enum class Kind { kGet, kPut, kCas };
  uint64_t client = 0;
  Kind kind = Kind::kGet;
  std::string key;
  std::optional<std::string> value;   // put, cas: the value written
  std::optional<std::string> expect;  // cas: the value required ("" = absent)
  std::optional<std::string> read;    // get with ok: the value read (nullopt = absent)
  bool applied = false;               // cas with ok: whether it applied
  bool ok = false;
  bool unknown = false;
  int64_t call = 0;
  int64_t ret = 0;
  std::string node;
  std::string status;
  bool final_read = false;  // one of the reads after the nemesis stopped ("final":true)

  bool is_write() const { return kind != Kind::kGet; }
  // An acknowledged write: a put with a definite answer or an applied cas.
  bool acknowledged_write() const {
    return ok && (kind == Kind::kPut || (kind == Kind::kCas && applied));
  }
};

const char* kind_name(OpRecord::Kind k);
nlohmann::json to_json(const OpRecord& op);
// Nullopt when the line is not a well-formed record.
std::optional<OpRecord> op_from_json(const nlohmann::json& j);

// history.jsonl, appended from many threads; every line is flushed at once,
// so a crash of the tool leaves a usable history.
class HistoryLog {
 public:
  explicit HistoryLog(const std::filesystem::path& file);
  HistoryLog(const HistoryLog&) = delete;
  HistoryLog& operator=(const HistoryLog&) = delete;
  ~HistoryLog();

  bool is_open() const { return file_ != nullptr; }
  void append(const OpRecord& op);
  // Everything appended so far.
  std::vector<OpRecord> ops() const;

 private:
  mutable std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::vector<OpRecord> ops_;
};

// Reads a history.jsonl; malformed lines are counted in *bad_lines.
std::vector<OpRecord> load_history(const std::filesystem::path& file, size_t* bad_lines);

}  // namespace shoal::chaos
