// SimDisk: the simulated disk of one simulated node.
//
// A protocol core that persists state (a Raft log, a node id, a term vote)
// writes it through SimDisk in simulation. Writes become durable only at
// sync(); until then they live in a "page cache" that reads already see. When
// the node crashes the simulator calls crash(), which throws away what was not
// synced -- so a test can catch a core that acknowledges something before it
// is on disk. The disk itself survives crashes and restarts of its node.
//
// Keys and values are byte strings (std::string is binary-safe). Small and
// slow on purpose: two ordered maps and a write log, meant for the modest
// state of protocol tests, not for bulk data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.h"

namespace shoal::sim {

// What survives of the unsynced writes when a node crashes.
enum class DiskCrashMode : uint8_t {
  // Nothing that was not synced survives (fsync semantics, the default).
  kDropUnsynced,
  // A random prefix (possibly empty, possibly all) of the unsynced writes, in
  // write order, survives: a power cut in the middle of write-back. Catches
  // cores that assume unsynced writes vanish all together.
  kTornPrefix,
};

class SimDisk {
 public:
  // Writes `value` under `key`; visible to get() now, durable after sync().
  void put(std::string_view key, std::string_view value);
  // Removes `key`; like put(), durable only after sync().
  void erase(std::string_view key);
  // The current value (including unsynced writes), or nullopt.
  std::optional<std::string> get(std::string_view key) const;
  bool contains(std::string_view key) const;
  // Number of visible keys.
  size_t size() const { return visible_.size(); }
  // Every visible key and value, in key order (for inspection by tests).
  const std::map<std::string, std::string, std::less<>>& contents() const { return visible_; }

  // Makes every write so far durable.
  void sync();
  // Writes (puts and erases) made since the last sync().
  size_t unsynced_count() const { return unsynced_.size(); }
  uint64_t sync_count() const { return syncs_; }

  // Called by the simulator when the node crashes: drops unsynced writes
  // according to `mode` (drawing the torn length from `rng`). Returns how
  // many unsynced writes survived.
  size_t crash(DiskCrashMode mode, Rng& rng);

 private:
  struct Write {
    std::string key;
    std::optional<std::string> value;  // nullopt: erase
  };
  static void apply(std::map<std::string, std::string, std::less<>>& map, const Write& w);

  // What a crash would leave; updated at sync().
  std::map<std::string, std::string, std::less<>> durable_;
  // durable_ plus unsynced_ applied in order; what reads see.
  std::map<std::string, std::string, std::less<>> visible_;
  std::vector<Write> unsynced_;
  uint64_t syncs_ = 0;
};

}  // namespace shoal::sim
