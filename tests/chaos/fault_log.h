// nemesis.log: one JSON line per nemesis event, on the run's clock:
//
//   {"t":ns,"event":"start","kind":K,"targets":[...],"leader":"nX or empty",
//    "targeted":bool,"detail":"..."}
//   {"t":ns,"event":"heal","kind":K,"targets":[...],"leader":"..."}
//   {"t":ns,"event":"note","kind":"","targets":[...],"leader":"","detail":"..."}
//
// targeted: the fault has an availability target (a kill, pause or
// partition that hit the leader, or a 2|3 split). Notes record what the
// nemesis saw besides its own faults (an agent that exited on its own, a
// cluster slow to become whole again). Faults never overlap, so each start
// is followed by its heal.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace shoal::chaos {

struct FaultRecord {
  std::string kind;
  std::vector<std::string> targets;
  std::string leader;  // at the start, "" if unknown
  bool targeted = false;
  std::string detail;
  int64_t start = 0;
  std::optional<int64_t> heal;  // nullopt: never healed (the tool stopped)
};

class FaultLog {
 public:
  explicit FaultLog(const std::filesystem::path& file);
  FaultLog(const FaultLog&) = delete;
  FaultLog& operator=(const FaultLog&) = delete;
  ~FaultLog();

  void start(const FaultRecord& f);
  void heal(const FaultRecord& f);
  void note(int64_t t, const std::vector<std::string>& targets, const std::string& detail);

 private:
  void write(const std::string& line);
  std::FILE* file_ = nullptr;
};

// The faults in a nemesis.log, in order.
std::vector<FaultRecord> load_faults(const std::filesystem::path& file);

}  // namespace shoal::chaos
