#include "tests/sim/sim_disk.h"

namespace shoal::sim {

void SimDisk::apply(std::map<std::string, std::string, std::less<>>& map, const Write& w) {
  if (w.value) {
    map.insert_or_assign(w.key, *w.value);
  } else {
    map.erase(w.key);
  }
}

void SimDisk::put(std::string_view key, std::string_view value) {
  Write w{std::string(key), std::string(value)};
  apply(visible_, w);
  unsynced_.push_back(std::move(w));
}

void SimDisk::erase(std::string_view key) {
  Write w{std::string(key), std::nullopt};
  apply(visible_, w);
  unsynced_.push_back(std::move(w));
}

std::optional<std::string> SimDisk::get(std::string_view key) const {
  auto it = visible_.find(key);
  if (it == visible_.end()) return std::nullopt;
  return it->second;
}

bool SimDisk::contains(std::string_view key) const { return visible_.find(key) != visible_.end(); }

void SimDisk::sync() {
  // Replaying the write log keeps sync O(writes), not O(disk size).
  for (const Write& w : unsynced_) apply(durable_, w);
  unsynced_.clear();
  ++syncs_;
}

size_t SimDisk::crash(DiskCrashMode mode, Rng& rng) {
  size_t keep = 0;
  if (mode == DiskCrashMode::kTornPrefix && !unsynced_.empty()) {
    keep = static_cast<size_t>(rng.uniform(unsynced_.size() + 1));
  }
  for (size_t i = 0; i < keep; ++i) apply(durable_, unsynced_[i]);
  unsynced_.clear();
  visible_ = durable_;
  return keep;
}

}  // namespace shoal::sim
