// Scale: 10,000 nodes in one process. Messages are shared immutable objects
// (std::shared_ptr<const FloodPacket>), so a broadcast costs one payload, not
// one per hop; a 50/50 partition of all nodes is a per-node group, O(N).
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"
#include "tests/sim/test_protocols.h"

namespace shoal::sim {
namespace {

using proto::FloodMsg;
using FloodSim = Simulator<FloodMsg>;
constexpr uint32_t kNodes = 10'000;

TEST(Scale, BroadcastToTenThousandNodesSharesOneObject) {
  for (uint64_t seed : sim_seeds(1)) {
    SCOPED_TRACE(replay_command(seed));
    const proto::Overlay overlay = proto::ring_overlay(kNodes, 2, seed);
    proto::FloodLedger ledger(kNodes);
    proto::FloodOptions opt{&overlay, &ledger, 0, /*retry=*/false, 4096};
    SimConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kNodes;
    cfg.tick_interval = Duration::zero();
    FloodSim sim(cfg, proto::flood_factory(&opt));
    sim.set_invariant([](const FloodSim& s) { return s.check_conservation(); });
    ASSERT_TRUE(sim.run_for(10s).is_ok());
    EXPECT_EQ(ledger.reached(), kNodes);
    EXPECT_EQ(sim.in_flight(), 0u);
    EXPECT_EQ(sim.stats().delivered, sim.stats().sent);
    EXPECT_GT(sim.stats().delivered, 4u * kNodes);
    // Every node received the origin's object itself, never a copy.
    const proto::FloodPacket* original = ledger.nodes[0].packet;
    ASSERT_NE(original, nullptr);
    for (const auto& n : ledger.nodes) ASSERT_EQ(n.packet, original);
  }
}

TEST(Scale, HalfAndHalfPartitionOfTenThousandNodes) {
  for (uint64_t seed : sim_seeds(1)) {
    SCOPED_TRACE(replay_command(seed));
    const proto::Overlay overlay = proto::ring_overlay(kNodes, 2, seed);
    proto::FloodLedger ledger(kNodes);
    proto::FloodOptions opt{&overlay, &ledger, 0, /*retry=*/true, 256};
    SimConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kNodes;
    FloodSim sim(cfg, proto::flood_factory(&opt));
    std::vector<NodeIndex> low, high;
    for (NodeIndex i = 0; i < kNodes; ++i) (i < kNodes / 2 ? low : high).push_back(i);
    sim.partition({low, high});
    ASSERT_TRUE(sim.run_for(20s).is_ok());
    for (NodeIndex i = 0; i < kNodes; ++i) ASSERT_EQ(ledger.nodes[i].has, i < kNodes / 2) << i;
    sim.heal();
    ASSERT_TRUE(sim.run_for(20s).is_ok());
    EXPECT_EQ(ledger.reached(), kNodes);
  }
}

}  // namespace
}  // namespace shoal::sim
