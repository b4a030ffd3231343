// Negative controls of the Raft simulation: each test turns on one
// deliberate bug in the production host (RaftHostOptions::negative_controls)
// or its disk, and expects the harness to catch it (a ledger violation, a
// final check or a non-linearizable history) for at least one seed of a
// small fixed set, and every one of those seeds to pass without it. That
// proves the checks can fail, and fail for the bug rather than for the
// scenario.
//
//   apply_before_persist  a Ready's committed entries are all applied (and
//                         their clients answered) before its write, also
//                         those it writes itself (the bug fixed in f02c987).
//                         Only a one-node leader commits on append, and only
//                         a crash inside the fsync loses what was answered:
//                         one voter, nodes dying in fsyncs.
//   ack_before_durable    a proposal is answered ok as soon as the core
//                         accepts it; three voters, leader and a follower
//                         crashed every 1.5 s.
//   skipped fsync         MemoryLogStore::set_skip_sync(true) on every
//                         node, the same crashes: each loses the whole log.
//
// The seeds are fixed (SHOAL_SIM_SEEDS does not change them, so that a
// lowered count cannot make a control pass by testing nothing);
// SHOAL_SIM_SEED=<n> replays one, both ways, without the "caught" count.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/sim/raft_harness.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::raft_sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

enum class Fault { kNone, kApplyBeforePersist, kAckBeforeDurable, kSkipFsync };

// The fixed seeds, or the one SHOAL_SIM_SEED replays.
std::vector<uint64_t> control_seeds() {
  if (const char* one = std::getenv("SHOAL_SIM_SEED"); one != nullptr && *one != '\0') {
    return sim_seeds(1);
  }
  return {1, 2, 3, 4, 5, 6, 7, 8};
}

// Why the run failed its checks; empty when it passed them all.
std::string verdict(RaftHarness& h, const Status& ran) {
  if (!ran.is_ok()) return ran.to_string();
  if (!h.violation().is_ok()) return h.violation().to_string();
  if (Status st = h.check_final(); !st.is_ok()) return st.to_string();
  const CheckResult lin = check_linearizable(h.history().ops());
  if (lin.gave_up) return "the linearizability checker gave up: " + lin.explanation;
  if (!lin.linearizable) return "not linearizable: " + lin.explanation;
  return "";
}

void set_fault(HarnessConfig& cfg, Fault f) {
  cfg.faults.apply_before_persist = f == Fault::kApplyBeforePersist;
  cfg.faults.ack_before_durable = f == Fault::kAckBeforeDurable;
}

// One voter and four clients for 20 s; a synced save is the node's last
// with probability 1/200 (it restarts within a second).
std::string run_lone_node_dying_in_fsyncs(uint64_t seed, Fault f) {
  HarnessConfig cfg;
  cfg.seed = seed;
  cfg.voters = 1;
  cfg.crash_in_fsync = 0.005;
  set_fault(cfg, f);
  RaftHarness h(cfg);
  h.start_clients(4, milliseconds(10));
  Status ran = h.sim().run_until(TimePoint(seconds(20)));
  if (ran.is_ok()) {
    h.stop_clients();
    ran = h.sim().run_for(seconds(5));
  }
  EXPECT_GT(h.counters().fsync_crashes, 0u);
  return verdict(h, ran);
}

// Three voters on a lossy network, four clients; every 1.5 s the leader
// crashes (back after 300 ms) and one follower with it (back after 200 ms),
// so that what the leader lost had had a quorum.
std::string run_crashing_leader_and_follower(uint64_t seed, Fault f) {
  HarnessConfig cfg;
  cfg.seed = seed;
  cfg.voters = 3;
  cfg.network = LinkModel{milliseconds(1), milliseconds(8), 0.02, 0.02, 0.05, milliseconds(50)};
  set_fault(cfg, f);
  RaftHarness h(cfg);
  if (f == Fault::kSkipFsync) {
    for (NodeIndex i = 0; i < h.nodes(); ++i) h.store(i).set_skip_sync(true);
  }
  h.start_clients(4, milliseconds(10));
  for (int k = 1; k <= 20; ++k) {
    h.sim().at(TimePoint(milliseconds(1500 * k)), [&h](RaftSimulator& s) {
      if (auto l = h.leader()) {
        const NodeIndex v = *l;
        h.crash(v);
        s.after(milliseconds(300), [&h, v](RaftSimulator&) { h.restart(v); });
      }
      for (NodeIndex i = 0; i < h.nodes(); ++i) {
        if (h.up(i) && !h.is_leader(i)) {
          h.crash(i);
          s.after(milliseconds(200), [&h, i](RaftSimulator&) { h.restart(i); });
          break;
        }
      }
    });
  }
  Status ran = h.sim().run_until(TimePoint(seconds(32)));
  if (ran.is_ok()) {
    h.stop_clients();
    ran = h.sim().run_for(seconds(10));
  }
  return verdict(h, ran);
}

using Scenario = std::string (*)(uint64_t seed, Fault f);

// The control: caught for some seed with the fault, clean for every seed
// without it.
void expect_caught_only_with_fault(Scenario run, Fault f, const char* name) {
  const std::vector<uint64_t> seeds = control_seeds();
  int caught = 0;
  for (uint64_t seed : seeds) {
    SCOPED_TRACE(replay_command(seed));
    const std::string clean = run(seed, Fault::kNone);
    EXPECT_EQ(clean, "") << "seed " << seed << " fails without " << name;
    const std::string with = run(seed, f);
    if (!with.empty()) {
      ++caught;
      if (std::getenv("SHOAL_RAFT_SIM_VERBOSE") != nullptr) {
        std::printf("%s, seed %llu caught: %s\n", name, static_cast<unsigned long long>(seed),
                    with.c_str());
      }
    }
  }
  if (seeds.size() > 1) {
    EXPECT_GT(caught, 0) << name << " went unnoticed in " << seeds.size()
                         << " seeds: the checks cannot fail";
  }
  std::printf("%s caught in %d of %zu seeds\n", name, caught, seeds.size());
}

TEST(RaftSimNegativeControl, ApplyingBeforePersistingIsCaught) {
  expect_caught_only_with_fault(&run_lone_node_dying_in_fsyncs, Fault::kApplyBeforePersist,
                                "apply_before_persist");
}

TEST(RaftSimNegativeControl, AnsweringBeforeDurableIsCaught) {
  expect_caught_only_with_fault(&run_crashing_leader_and_follower, Fault::kAckBeforeDurable,
                                "ack_before_durable");
}

TEST(RaftSimNegativeControl, SkippedFsyncIsCaught) {
  expect_caught_only_with_fault(&run_crashing_leader_and_follower, Fault::kSkipFsync,
                                "skipped fsync");
}

}  // namespace
}  // namespace shoal::sim::raft_sim
