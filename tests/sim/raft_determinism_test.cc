// The Raft harness replays: one seed gives the same run twice (trace hash,
// simulator stats, client counters), however much production code (the
// RaftHost on every node) runs inside it; different seeds give different
// runs.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "tests/sim/raft_harness.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::raft_sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct RaftRun {
  uint64_t hash;
  SimStats stats;
  Counters counters;
  size_t ops;
};

// Three voters on a lossy, reordering network with compaction, a leader
// crash, a partition and nodes dying inside fsyncs.
RaftRun run_faulty_cluster(uint64_t seed) {
  HarnessConfig cfg;
  cfg.seed = seed;
  cfg.voters = 3;
  cfg.network = LinkModel{milliseconds(1), milliseconds(8), 0.02, 0.02, 0.05, milliseconds(50)};
  cfg.compact_every = 16;
  cfg.compact_keep = 4;
  cfg.raft.snapshot_chunk_bytes = 40;
  cfg.crash_in_fsync = 0.002;
  RaftHarness h(cfg);
  h.start_clients(3, milliseconds(20));
  h.sim().at(TimePoint(seconds(3)), [&h](RaftSimulator& s) {
    if (auto l = h.leader()) {
      const NodeIndex v = *l;
      h.crash(v);
      s.after(seconds(1), [&h, v](RaftSimulator&) { h.restart(v); });
    }
  });
  h.sim().at(TimePoint(seconds(6)), [](RaftSimulator& s) {
    s.partition({{0}, {1, 2}});
    s.after(seconds(1), [](RaftSimulator& s2) { s2.heal(); });
  });
  const Status st = h.sim().run_until(TimePoint(seconds(10)));
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return {h.sim().trace_hash(), h.sim().stats(), h.counters(), h.history().ops().size()};
}

TEST(RaftSimDeterminism, SameSeedGivesIdenticalRun) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    const RaftRun a = run_faulty_cluster(seed);
    const RaftRun b = run_faulty_cluster(seed);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.stats, b.stats);
    EXPECT_TRUE(a.counters == b.counters);
    EXPECT_EQ(a.ops, b.ops);
    // The run did something.
    EXPECT_GT(a.counters.puts_ok, 20u);
    EXPECT_GT(a.counters.elections, 1u);
    EXPECT_GT(a.stats.timers, 100u);
  }
}

TEST(RaftSimDeterminism, DifferentSeedsGiveDifferentRuns) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 5; ++seed) hashes.insert(run_faulty_cluster(seed).hash);
  EXPECT_EQ(hashes.size(), 5u);
}

}  // namespace
}  // namespace shoal::sim::raft_sim
