// Gossip clusters on the deterministic simulator: a 1,000-node join, crash
// detection, leave vs crash, metadata, restart from the persisted list, and
// determinism. Every packet goes through the real codec
// (tests/sim/gossip_harness.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/sim/gossip_harness.h"
#include "tests/sim/gossip_test_util.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::gossip_sim {
namespace {

using std::chrono::seconds;

// Scaled down under the sanitizers (see kSanitized).
constexpr uint32_t kBigCluster = kSanitized ? 250 : 1000;

TEST(GossipSim, ThousandNodesConvergeAfterJoining) {
  for (uint64_t seed : sim_seeds(1)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kBigCluster;
    cfg.join_spread = seconds(1);  // everyone starts within a second, through one seed
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(90), [&] { return everyone_converged(h); }));
    std::vector<double> t;
    for (NodeIndex i = 0; i < cfg.nodes; ++i)
      t.push_back(to_seconds(*h.converged_at(i) - h.join_at(i)));
    std::sort(t.begin(), t.end());
    // A join storm is bandwidth-bound (1,000 new members x 16 retransmits
    // through 3 packets per 200 ms per node); the early push-pull after the
    // join brings most nodes in within seconds.
    EXPECT_LT(t[t.size() / 2], 15.0);
    EXPECT_TRUE(h.all_agree());
    EXPECT_EQ(h.false_suspicions(), 0u);
    EXPECT_EQ(h.total_stats().decode_errors, 0u);
    // Compound packets stayed within the UDP budget, and were well filled.
    EXPECT_EQ(h.oversized_packets(), 0u);
    EXPECT_LE(h.largest_packet(), cfg.gossip.max_packet_bytes);
    EXPECT_GT(h.largest_packet(), cfg.gossip.max_packet_bytes - 120);
  }
}

TEST(GossipSim, ACrashIsKnownDeadByEveryLiveNode) {
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kSanitized ? 80 : 200;
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return everyone_converged(h); }));
    const NodeIndex victim = 77;
    h.crash(victim);
    const TimePoint crashed = h.sim().now();
    auto all_know = [&] {
      for (NodeIndex i = 0; i < cfg.nodes; ++i) {
        if (i != victim && h.seen(i, victim) != Seen::kDead) return false;
      }
      return true;
    };
    // Suspicion: min 4 x log10(200) x 1 s = 9.2 s, max 6x that; with
    // independent confirmations everyone knows well within the max (plus
    // the last call's second).
    ASSERT_TRUE(run_until(h, seconds(90), all_know));
    EXPECT_LT(to_seconds(h.sim().now() - crashed), 60.0);
    EXPECT_EQ(h.false_deaths(), 0u);
    EXPECT_EQ(h.false_suspicions(), 0u);
    for (NodeIndex i = 0; i < cfg.nodes; ++i) {
      if (i != victim) {
        EXPECT_EQ(h.count(i, Seen::kAlive), cfg.nodes - 2) << i;
      }
    }
  }
}

TEST(GossipSim, LeaveAndCrashAreToldApartEverywhere) {
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = 60;
    cfg.network.loss = 0.05;
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return everyone_converged(h); }));
    h.leave(10);
    h.crash(20);
    // The leaver keeps running until its goodbye has drained, then stops.
    ASSERT_TRUE(run_until(h, seconds(10), [&] { return h.core(10)->broadcasts_pending() == 0; }));
    h.crash(10);
    ASSERT_TRUE(h.sim().run_for(seconds(90)).is_ok());
    for (NodeIndex i = 0; i < cfg.nodes; ++i) {
      if (i == 10 || i == 20) continue;
      EXPECT_EQ(h.seen(i, 10), Seen::kLeft) << i;
      EXPECT_EQ(h.seen(i, 20), Seen::kDead) << i;
    }
    EXPECT_EQ(h.false_deaths(), 0u);
  }
}

TEST(GossipSim, MetadataUpdatesReachEveryone) {
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kSanitized ? 60 : 150;
    cfg.network.loss = 0.05;
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return everyone_converged(h); }));
    gossip::NodeMeta m = GossipHarness::meta_of(42);
    m.attrs["zone"] = "moved";
    m.tags = {"draining"};
    std::vector<TimePoint> seen_at(cfg.nodes, TimePoint::max());
    h.on_event = [&](NodeIndex o, const gossip::Event& e, TimePoint now) {
      if (e.kind == gossip::Event::Kind::kUpdate && e.member.id == GossipHarness::id_of(42) &&
          e.member.meta == m) {
        seen_at[o] = std::min(seen_at[o], now);
      }
    };
    const TimePoint start = h.sim().now();
    h.update_meta(42, m);
    auto everyone = [&] {
      for (NodeIndex i = 0; i < cfg.nodes; ++i) {
        if (i != 42 && seen_at[i] == TimePoint::max()) return false;
      }
      return true;
    };
    ASSERT_TRUE(run_until(h, seconds(30), everyone));
    for (NodeIndex i = 0; i < cfg.nodes; ++i) {
      if (i == 42) continue;
      EXPECT_LT(to_seconds(seen_at[i] - start), 10.0) << i;
      EXPECT_EQ(h.core(i)->find(GossipHarness::id_of(42))->meta, m) << i;
    }
  }
}

TEST(GossipSim, ARestartedNodeRejoinsFromItsPersistedList) {
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = 30;
    cfg.persist = true;
    cfg.rejoin_on_restart = false;  // no --join: the member list must do it
    GossipHarness h(cfg);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return everyone_converged(h); }));
    h.crash(7);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return h.seen(0, 7) == Seen::kDead; }));
    h.restart(7);
    ASSERT_TRUE(run_until(h, seconds(60), [&] { return h.all_agree(); }));
    EXPECT_EQ(h.count(7, Seen::kAlive), cfg.nodes - 1);
    for (NodeIndex i = 0; i < cfg.nodes; ++i) {
      if (i != 7) {
        EXPECT_EQ(h.seen(i, 7), Seen::kAlive) << i;
      }
    }
  }
}

TEST(GossipSim, SameSeedReplaysTheSameRun) {
  auto run = [](uint64_t seed) {
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.nodes = 40;
    cfg.network.loss = 0.1;
    GossipHarness h(cfg);
    h.sim().at(time_at(seconds(20)), [&](GossipSimulator&) { h.crash(3); });
    EXPECT_TRUE(h.sim().run_for(seconds(60)).is_ok());
    return h.sim().trace_hash();
  };
  for (uint64_t seed : sim_seeds(2)) {
    SCOPED_TRACE(replay_command(seed));
    EXPECT_EQ(run(seed), run(seed));
    EXPECT_NE(run(seed), run(seed + 1000));
  }
}

}  // namespace
}  // namespace shoal::sim::gossip_sim
