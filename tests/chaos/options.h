// The command line of shoal-chaos (tests/chaos/run.sh passes its arguments
// through): what to run, which faults to inject, where to keep the run, and
// the replay command printed when a run fails.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace shoal::chaos {

// Fault kinds the nemesis knows, in the order they are reported.
inline constexpr const char* kFaultKinds[] = {"kill",        "pause",     "partition",
                                              "restart-all", "power-cut", "power-cut-all"};

struct ChaosOptions {
  int nodes = 3;         // 3 or 5
  double minutes = 1.0;  // fractions allowed
  uint64_t seed = 0;     // from the clock unless --seed
  bool seed_given = false;
  std::vector<std::string> faults;        // subset of kFaultKinds, in kFaultKinds order
  int clients = 10;                       // >= 8
  int block = 60;                         // agents live on 127.0.<block>.N
  std::filesystem::path out;              // run dir; default /tmp/shoal-chaos-<seed>-<unix time>
  std::vector<std::string> agent_faults;  // SHOAL_TEST_FAULTS for every agent
  bool expect_violation = false;
  double max_unavailable_s = 3.0;
  std::filesystem::path shoal;  // the agent binary
  bool self_test = false;
  std::optional<std::filesystem::path> check_only;  // re-check an existing run dir

  bool has_fault(const std::string& kind) const;
  std::string ip(int i) const;  // agent i (1-based): 127.0.<block>.<i>
};

// The parsed options, or the exit code to return (0 after --help, 2 after a
// usage error, already printed).
std::variant<ChaosOptions, int> parse_options(int argc, char** argv);

// `tests/chaos/run.sh` with every option of this run spelled out and the seed
// fixed (without --out, so a replay gets a run dir of its own).
std::string replay_command(const ChaosOptions& o);

// "a,b,c" split at commas; empty items dropped.
std::vector<std::string> split_list(const std::string& text);
std::string join_list(const std::vector<std::string>& items, const std::string& sep = ",");

}  // namespace shoal::chaos
