// Gossip under faults on the simulator: 10% loss plus a slow node (no false
// "dead"; plain SWIM, the negative control, does declare some), and a 50/50
// partition for ten minutes that heals into one membership.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "tests/sim/gossip_harness.h"
#include "tests/sim/gossip_test_util.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::gossip_sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// What one run of run_loss_and_a_slow_node() saw.
struct LossAndSlowNodeOutcome {
  uint64_t false_deaths = 0;           // every node marking a healthy one dead
  uint64_t false_deaths_declared = 0;  // the root causes: own suspicion timed out
  uint64_t false_suspicions_raised = 0;
  uint64_t indirect_probes_sent = 0;
  bool all_agree = false;  // at the end, suspicions allowed
  int slow_max_health = 0;
  double others_mean_health = 0;
};

// The scenario: 50 nodes, 10% loss on every link, and node 1 handling every
// packet it receives up to 1 s late (in order), about ten times what a probe
// round trip is given: it misses its own probe timeouts and answers others
// late. Once everyone has converged, ten minutes (four under the
// sanitizers), reading the health scores once a second. `gossip` is the
// detector under test: the lan profile, or plain SWIM for the control.
//
// 50 nodes, not 100: from 100 members on, every update is retransmitted 12
// times instead of 8 (retransmit_mult * ceil(log10(n + 1))), and that alone
// lets plain SWIM through ten minutes of this without a false death for most
// seeds (seeds 1-3: none; 4 in 20 seeds), so the scenario could not tell
// Lifeguard from plain SWIM. At 50 nodes plain SWIM declares healthy nodes
// dead in every one of seeds 1-20 (1-7 each, one seed 32), Lifeguard in none
// of seeds 1-30.
void run_loss_and_a_slow_node(uint64_t seed, const gossip::Config& gossip,
                              LossAndSlowNodeOutcome* out) {
  HarnessConfig cfg;
  cfg.seed = seed;
  cfg.nodes = 50;
  cfg.gossip = gossip;
  cfg.network.loss = 0.10;
  GossipHarness h(cfg);
  const NodeIndex slow = 1;
  h.sim().set_receive_delay(slow, seconds(1));
  ASSERT_TRUE(run_until(h, seconds(120), [&] { return everyone_converged(h); }));
  const int secs = kSanitized ? 240 : 600;
  int slow_max = 0;
  double others_sum = 0;
  for (int t = 0; t < secs; ++t) {
    ASSERT_TRUE(h.sim().run_for(seconds(1)).is_ok());
    slow_max = std::max(slow_max, h.core(slow)->health_score());
    for (NodeIndex i = 0; i < cfg.nodes; ++i) {
      if (i != slow) others_sum += h.core(i)->health_score();
    }
  }
  out->false_deaths = h.false_deaths();
  out->false_deaths_declared = h.false_deaths_declared();
  out->false_suspicions_raised = h.false_suspicions_raised();
  out->indirect_probes_sent = h.total_stats().indirect_probes_sent;
  out->all_agree = h.all_agree(/*allow_suspect=*/true);
  out->slow_max_health = slow_max;
  out->others_mean_health = others_sum / (static_cast<double>(secs) * (cfg.nodes - 1));
}

// Healthy nodes must never be declared dead -- neither the slow one nor
// anyone it fails to hear in time. SHOAL_SIM_SEEDS=20 runs the offline sweep.
TEST(GossipFaults, LossAndASlowNodeGiveNoFalseDeaths) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    LossAndSlowNodeOutcome o;
    ASSERT_NO_FATAL_FAILURE(run_loss_and_a_slow_node(seed, gossip::Config::lan(), &o));
    EXPECT_EQ(o.false_deaths, 0u);
    EXPECT_EQ(o.false_deaths_declared, 0u);
    EXPECT_TRUE(o.all_agree);
    // Lifeguard: the slow node learned that it is the slow one; the others,
    // who only lose packets, stay close to healthy.
    EXPECT_GE(o.slow_max_health, 2);
    EXPECT_LT(o.others_mean_health, 1.0);
    // The scenario really stressed the detector.
    EXPECT_GT(o.indirect_probes_sent, 0u);
    EXPECT_GT(o.false_suspicions_raised, 0u);
  }
}

// Negative control of the test above: the same scenario, seeds and counters
// with Lifeguard off must show false deaths, or the zero above proves
// nothing. Plain SWIM is the lan profile with Config::lifeguard = false (the
// `--no-lifeguard` of shoal-bench gossip): no local health awareness (probe
// timeouts and intervals never stretch), no nacks from indirect helpers, no
// buddy system (a suspect hears of its suspicion only through gossip), a
// fixed suspicion timeout (suspicion_mult * log10(n) * probe_interval, 6.8 s
// here, however many members confirm it) and no last call before "dead".
// Over the seed set, not per seed: a short run (the sanitizers' four
// minutes) can pass one seed without a false death.
TEST(GossipFaults, PlainSwimUnderTheSameLossGivesFalseDeaths) {
  gossip::Config swim = gossip::Config::lan();
  swim.lifeguard = false;
  uint64_t false_deaths = 0;
  uint64_t false_deaths_declared = 0;
  std::string per_seed;
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    LossAndSlowNodeOutcome o;
    ASSERT_NO_FATAL_FAILURE(run_loss_and_a_slow_node(seed, swim, &o));
    false_deaths += o.false_deaths;
    false_deaths_declared += o.false_deaths_declared;
    per_seed += " seed " + std::to_string(seed) + ": " + std::to_string(o.false_deaths_declared);
  }
  EXPECT_GT(false_deaths, 0u) << "false dead declarations by seed:" << per_seed;
  EXPECT_GT(false_deaths_declared, 0u) << "false dead declarations by seed:" << per_seed;
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
