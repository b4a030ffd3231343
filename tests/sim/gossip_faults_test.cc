// Gossip under faults on the simulator: 10% loss plus a slow node (no false
// "dead"), and a 50/50 partition for ten minutes that heals into one
// membership.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/sim/gossip_harness.h"
#include "tests/sim/gossip_test_util.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::gossip_sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// The slow node handles every packet it receives up to 1 s late (in order),
// about ten times what a probe round trip is given: it misses its own probe
// timeouts and answers others late. Healthy nodes must never be declared
// dead -- neither the slow one nor anyone it fails to hear in time.
// SHOAL_SIM_SEEDS=20 runs the offline sweep.
TEST(GossipFaults, LossAndASlowNodeGiveNoFalseDeaths) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = 100;
    cfg.network.loss = 0.10;
    GossipHarness h(cfg);
    const NodeIndex slow = 1;
    h.sim().set_receive_delay(slow, seconds(1));
    ASSERT_TRUE(run_until(h, seconds(120), [&] { return everyone_converged(h); }));
    // Ten minutes (four under the sanitizers), watching Lifeguard's health
    // scores once a second.
    const int secs = kSanitized ? 240 : 600;
    int slow_max = 0;
    double others_mean = 0;
    for (int t = 0; t < secs; ++t) {
      ASSERT_TRUE(h.sim().run_for(seconds(1)).is_ok());
      slow_max = std::max(slow_max, h.core(slow)->health_score());
      for (NodeIndex i = 0; i < cfg.nodes; ++i) {
        if (i != slow) others_mean += h.core(i)->health_score();
      }
    }
    others_mean /= static_cast<double>(secs) * (cfg.nodes - 1);
    EXPECT_EQ(h.false_deaths(), 0u);
    EXPECT_EQ(h.false_deaths_declared(), 0u);
    EXPECT_TRUE(h.all_agree(/*allow_suspect=*/true));
    // Lifeguard: the slow node learned that it is the slow one; the others,
    // who only lose packets, stay close to healthy.
    EXPECT_GE(slow_max, 2);
    EXPECT_LT(others_mean, 1.0);
    // The scenario really stressed the detector.
    EXPECT_GT(h.total_stats().indirect_probes_sent, 0u);
    EXPECT_GT(h.false_suspicions_raised(), 0u);
  }
}

TEST(GossipFaults, HalvesOfATenMinutePartitionMergeAgain) {
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = 40;
    cfg.seeds = {0, 20};  // one seed per half, as a two-site cluster would
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return everyone_converged(h); }));
    std::vector<NodeIndex> a, b;
    for (NodeIndex i = 0; i < cfg.nodes; ++i) (i < 20 ? a : b).push_back(i);
    h.sim().partition({a, b});
    ASSERT_TRUE(h.sim().run_for(minutes(10)).is_ok());
    // Each half has declared the other dead (and gossip to the dead has
    // long stopped).
    for (NodeIndex i : a) EXPECT_EQ(h.count(i, Seen::kDead), 20u) << i;
    for (NodeIndex i : b) EXPECT_EQ(h.count(i, Seen::kDead), 20u) << i;
    h.sim().heal();
    // Only the slow reconnect attempts (every 30 s) can find the other half.
    ASSERT_TRUE(run_until(h, minutes(5), [&] {
      for (NodeIndex i = 0; i < cfg.nodes; ++i) {
        if (h.count(i, Seen::kAlive) != cfg.nodes - 1) return false;
      }
      return true;
    }));
    EXPECT_TRUE(h.all_agree());
  }
}

}  // namespace
}  // namespace shoal::sim::gossip_sim
