// The KV part of Shoal's replicated state machine (DESIGN.md §4, the
// cluster issue): keys with values and create/modify indexes, changed only
// by applying committed log entries. Applying is a pure function of the log:
// no clocks, no randomness, ordered containers, so every replica that
// applied the same entries holds the same state (hash() proves it).
//
// Commands travel in the log as envelopes (core/msg_types.h 3000) and are
// validated again when applied: a malformed or oversized command changes
// nothing and is reported as such (a corrupted entry must not diverge the
// replicas, and every replica rejects it the same way).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace shoal::scheduler {

inline constexpr uint8_t kKvCommandVersion = 1;  // the newest kStateKvCommand version known
inline constexpr size_t kMaxKeyBytes = 512;
inline constexpr size_t kMaxValueBytes = 512 * 1024;

// A key is 1..512 bytes of valid UTF-8, without NUL and without a leading
// '/'. Returns invalid_argument naming the problem.
Status validate_key(std::string_view key);

struct KvCommand {
  enum class Op : uint8_t {
    kPut = 0,         // key := value
    kDelete = 1,      // remove key
    kDeleteTree = 2,  // remove every key starting with `key` (a prefix)
  };
  Op op = Op::kPut;
  std::string key;
  std::vector<uint8_t> value;
  // Check-and-set on the modify index: 0 = only if the key does not exist;
  // N = only if the key exists with modify_index N. Not for kDeleteTree.
  std::optional<uint64_t> cas;

  bool operator==(const KvCommand&) const = default;
};

std::vector<uint8_t> encode(const KvCommand& cmd);
// Decodes and validates (key, value size, op, cas use). Never throws.
Result<KvCommand> decode_kv_command(std::span<const uint8_t> bytes);

struct KvEntry {
  std::string key;
  std::vector<uint8_t> value;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  bool operator==(const KvEntry&) const = default;
};

// What applying a command did.
enum class KvOutcome : uint8_t {
  kApplied,    // the state changed as asked
  kCasFailed,  // the check-and-set did not hold: nothing changed (HTTP 409)
  kNotFound,   // a delete of a key that does not exist: nothing changed
  kInvalid,    // the command did not validate: nothing changed
};

class KvState {
 public:
  // Applies `cmd` as the entry at log index `index` (strictly increasing
  // across calls; SHOAL_CHECKed).
  KvOutcome apply(uint64_t index, const KvCommand& cmd);
  // Decodes then applies; an undecodable entry is kInvalid.
  KvOutcome apply_bytes(uint64_t index, std::span<const uint8_t> bytes);

  std::optional<KvEntry> get(std::string_view key) const;
  // Every entry whose key starts with `prefix`, in key order, at most `limit`.
  std::vector<KvEntry> list(std::string_view prefix, size_t limit = SIZE_MAX) const;
  size_t size() const { return entries_.size(); }
  // The index of the last entry that changed the KV state (a blocking query
  // waits for it to pass the client's index; deletes count).
  uint64_t index() const { return index_; }
  // The last log index applied (changed anything or not).
  uint64_t applied() const { return applied_; }
  // The whole state was replaced at log index `index` (a restore): from now
  // on index() and applied() are `index`, so that blocking queries wake.
  void replaced_at(uint64_t index) {
    index_ = index;
    applied_ = index;
  }

  // The whole state as one envelope (core/msg_types.h 3001), and back.
  std::vector<uint8_t> snapshot() const;
  static Result<KvState> restore(std::span<const uint8_t> bytes);

  // A hash of the whole state (keys, values, indexes), equal on replicas
  // that applied the same entries. O(n): for tests and checks.
  uint64_t hash() const;

 private:
  struct Value {
    std::vector<uint8_t> value;
    uint64_t create_index = 0;
    uint64_t modify_index = 0;
  };
  std::map<std::string, Value, std::less<>> entries_;
  uint64_t index_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace shoal::scheduler
