// The nemesis: one fault at a time, chosen by a seeded RNG from --faults,
// each applied, held and healed, with a quiet spell of 2-4 s between faults:
//
//   kill         kill -9 one agent (the leader half the time), restart it on
//                its data dir after 1-3 s
//   pause        SIGSTOP one agent (the leader half the time), SIGCONT after 2-5 s
//   partition    3 nodes: isolate the leader for 3-8 s; 5 nodes: half the time
//                that, otherwise a random 2|3 split
//   restart-all  kill -9 every agent, restart them all after 1-2 s
//   power-cut    SIGUSR2 (the agent drops its unsynced writes and exits, see
//                SHOAL_TEST_FAULTS=power-cut) to one agent; SIGKILL if it has
//                not exited after 5 s; restart after 1-3 s
//   power-cut-all  the same to every agent at once (the power of the whole
//                site goes), restart after 1-2 s
//
// Every start and heal goes to nemesis.log (fault_log.h). After a heal the
// nemesis waits (at most 20 s) until every agent reports a leader again, so
// the next fault meets a whole cluster. Agents that exit on their own are
// noted, reported and restarted. Runs on the main thread.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "tests/chaos/agents.h"
#include "tests/chaos/fault_log.h"
#include "tests/chaos/firewall.h"
#include "tests/chaos/options.h"
#include "tests/chaos/run_clock.h"

namespace shoal::chaos {

class Nemesis {
 public:
  Nemesis(const ChaosOptions& options, Agents& agents, Firewall& firewall, const RunClock& clock,
          FaultLog& log);

  // Injects faults until the run clock reaches until_ns or the tool is
  // interrupted; every fault is healed before this returns.
  void run(int64_t until_ns);
  // Restarts agents that are down and resumes paused ones (after a crash of
  // an agent, or an interrupted hold).
  void heal_all();

  const std::vector<FaultRecord>& faults() const { return faults_; }
  // Agents that exited on their own: "n2 exited (exit code 1) at 12.345 s".
  const std::vector<std::string>& crashes() const { return crashes_; }

 private:
  // Holds a fault for a random time in [lo_ms, hi_ms], cut short at until_ns.
  void hold(int lo_ms, int hi_ms, int64_t until_ns);
  // A target: the leader with probability 1/2 (when known), else any agent.
  int pick_target(int leader);
  std::string leader_name(int leader) const;  // "" for -1
  void check_crashes();
  void begin(FaultRecord& f);
  void end(FaultRecord& f);

  void kill(int leader, int64_t until_ns);
  void pause(int leader, int64_t until_ns);
  void partition(int leader, int64_t until_ns);
  void restart_all(int leader, int64_t until_ns);
  // SIGUSR2 to one agent (or to every agent at once): agents started with
  // SHOAL_TEST_FAULTS=power-cut drop what they did not sync and exit.
  void power_cut(int leader, int64_t until_ns, bool all);

  const ChaosOptions& options_;
  Agents& agents_;
  Firewall& firewall_;
  const RunClock& clock_;
  FaultLog& log_;
  std::mt19937_64 rng_;
  std::vector<FaultRecord> faults_;
  std::vector<std::string> crashes_;
};

}  // namespace shoal::chaos
