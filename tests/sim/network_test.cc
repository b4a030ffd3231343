// The network model: loss, duplication, reordering, per-link overrides,
// two-way partitions (with packets in flight) and one-way blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"
#include "tests/sim/test_protocols.h"

namespace shoal::sim {
namespace {

using proto::Ping;
using proto::PingLedger;
using proto::PingOptions;
using PingSim = Simulator<Ping>;

Status conservation(const PingSim& s) { return s.check_conservation(); }

SimConfig ping_config(uint64_t seed, uint32_t nodes, Duration tick, LinkModel link) {
  SimConfig cfg;
  cfg.seed = seed;
  cfg.nodes = nodes;
  cfg.tick_interval = tick;
  cfg.network = link;
  return cfg;
}

LinkModel fixed_latency(Duration d) {
  LinkModel m;
  m.latency_min = m.latency_max = d;
  return m;
}

// |observed - p| within 5 standard deviations of a binomial proportion.
void expect_rate(uint64_t hits, uint64_t trials, double p) {
  ASSERT_GT(trials, 0u);
  const double observed = static_cast<double>(hits) / static_cast<double>(trials);
  const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(trials));
  EXPECT_NEAR(observed, p, 5 * sigma) << hits << " of " << trials;
}

TEST(Network, LossOneDeliversNothing) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(10, false);
    PingOptions opt{&ledger, {}, true};
    LinkModel lossy;
    lossy.loss = 1.0;
    PingSim sim(ping_config(seed, 10, 100ms, lossy), proto::ping_factory<Ping>(&opt));
    sim.set_invariant(conservation);
    ASSERT_TRUE(sim.run_for(30s).is_ok());
    EXPECT_GT(sim.stats().sent, 2500u);
    EXPECT_EQ(sim.stats().delivered, 0u);
    EXPECT_EQ(sim.stats().dropped_loss, sim.stats().sent);
    for (const auto& n : ledger.nodes) EXPECT_EQ(n.pings_received + n.pongs_received, 0u);
  }
}

TEST(Network, LossRateIsWithinStatisticalBound) {
  for (uint64_t seed : sim_seeds(10)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(10, false);
    PingOptions opt{&ledger, {}, true};
    LinkModel lossy;
    lossy.loss = 0.3;
    PingSim sim(ping_config(seed, 10, 50ms, lossy), proto::ping_factory<Ping>(&opt));
    sim.set_invariant(conservation);
    ASSERT_TRUE(sim.run_for(100s).is_ok());
    const SimStats& s = sim.stats();
    EXPECT_GT(s.sent, 30000u);
    // Packets not yet decided are still in flight; everything else was
    // either lost or delivered.
    expect_rate(s.delivered + sim.in_flight(), s.sent, 0.7);
    expect_rate(s.dropped_loss, s.sent, 0.3);
    uint64_t pings_sent = 0, pings_received = 0;
    for (const auto& n : ledger.nodes) {
      pings_sent += n.pings_sent;
      pings_received += n.pings_received;
    }
    expect_rate(pings_received, pings_sent, 0.7);
  }
}

TEST(Network, DuplicationMatchesRateAndReachesReceivers) {
  for (uint64_t seed : sim_seeds(10)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(10, true);
    PingOptions opt{&ledger, {}, false};
    LinkModel dup;
    dup.duplicate = 0.1;
    PingSim sim(ping_config(seed, 10, 50ms, dup), proto::ping_factory<Ping>(&opt));
    sim.set_invariant(conservation);
    // Stop pinging at 100s (everyone targets itself) and let the network drain.
    sim.at(time_at(100s), [&](PingSim&) {
      opt.targets.clear();
      for (NodeIndex i = 0; i < 10; ++i) opt.targets.push_back(i);
    });
    ASSERT_TRUE(sim.run_until(time_at(101s)).is_ok());
    const SimStats& s = sim.stats();
    ASSERT_EQ(sim.in_flight(), 0u);
    EXPECT_EQ(s.delivered, s.sent + s.duplicated);
    expect_rate(s.duplicated, s.sent, 0.1);
    // Every extra copy was seen by its receiver as a repeat.
    uint64_t repeats = 0;
    for (const auto& n : ledger.nodes) {
      std::set<std::pair<NodeIndex, uint32_t>> seen;
      for (const auto& r : n.receipts) repeats += seen.insert({r.from, r.msg.seq}).second ? 0 : 1;
    }
    EXPECT_EQ(repeats, s.duplicated);
  }
}

// Node 0 pings node 1 every 10ms; returns how many of node 1's receipts came
// with a lower sequence number than one received before.
uint64_t out_of_order_receipts(uint64_t seed, const LinkModel& link, SimStats* stats) {
  PingLedger ledger(2, true);
  PingOptions opt{&ledger, {NodeIndex{1}, NodeIndex{1}}, false};
  PingSim sim(ping_config(seed, 2, 10ms, link), proto::ping_factory<Ping>(&opt));
  EXPECT_TRUE(sim.run_for(60s).is_ok());
  uint32_t highest = 0;
  uint64_t late = 0;
  for (const auto& r : ledger.nodes[1].receipts) {
    if (r.msg.seq < highest) ++late;
    highest = std::max(highest, r.msg.seq);
  }
  EXPECT_GT(ledger.nodes[1].receipts.size(), 5000u);
  *stats = sim.stats();
  return late;
}

TEST(Network, FixedLatencyWithoutReorderKeepsSendOrder) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    SimStats stats;
    EXPECT_EQ(out_of_order_receipts(seed, fixed_latency(50ms), &stats), 0u);
    EXPECT_EQ(stats.reordered, 0u);
  }
}

TEST(Network, ReorderDeliversSomePacketsOutOfSendOrder) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    LinkModel link = fixed_latency(50ms);
    link.reorder = 0.2;
    link.reorder_max = 100ms;
    SimStats stats;
    const uint64_t late = out_of_order_receipts(seed, link, &stats);
    EXPECT_GT(late, 100u);
    EXPECT_LE(late, stats.reordered);  // only delayed packets can arrive late
    expect_rate(stats.reordered, stats.sent, 0.2);
  }
}

TEST(Network, LinkOverrideAffectsOnlyThatDirectedLink) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(3, true);
    // 0 -> 1, 1 -> 0, 2 -> 1.
    PingOptions opt{&ledger, {NodeIndex{1}, NodeIndex{0}, NodeIndex{1}}, false};
    PingSim sim(ping_config(seed, 3, 100ms, LinkModel{}), proto::ping_factory<Ping>(&opt));
    LinkModel dead;
    dead.loss = 1.0;
    sim.set_link(0, 1, dead);
    sim.at(time_at(10s), [](PingSim& s) { s.clear_link(0, 1); });
    ASSERT_TRUE(sim.run_until(time_at(20s)).is_ok());
    std::map<NodeIndex, int> before, after;  // node 1's receipts by sender
    for (const auto& r : ledger.nodes[1].receipts) {
      ++(r.local_time < time_at(10s) ? before : after)[r.from];
    }
    EXPECT_EQ(before[0], 0);
    EXPECT_GE(before[2], 95);
    EXPECT_GE(after[0], 95);
    EXPECT_GE(ledger.nodes[0].pings_received, 190u);  // 1 -> 0 never affected
  }
}

TEST(Network, TwoWayPartitionHoldsUntilHealThenFloodReachesAll) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    constexpr uint32_t kNodes = 100;
    const proto::Overlay overlay = proto::ring_overlay(kNodes, 2, seed);
    proto::FloodLedger ledger(kNodes);
    proto::FloodOptions opt{&overlay, &ledger, 0, /*retry=*/true, 64};
    SimConfig cfg;
    cfg.seed = seed;
    cfg.nodes = kNodes;
    Simulator<proto::FloodMsg> sim(cfg, proto::flood_factory(&opt));
    auto side = [](NodeIndex n) { return n < kNodes / 2 ? 0 : 1; };
    std::vector<NodeIndex> a, b;
    for (NodeIndex i = 0; i < kNodes; ++i) (side(i) == 0 ? a : b).push_back(i);
    sim.partition({a, b});
    bool partitioned = true;
    uint64_t crossings = 0;
    sim.set_invariant([&](const Simulator<proto::FloodMsg>& s) -> Status {
      const EventInfo& e = s.current_event();
      if (e.kind != EventKind::kDeliver || e.outcome != EventOutcome::kApplied ||
          side(e.from) == side(e.node)) {
        return s.check_conservation();
      }
      if (partitioned) return Status::internal("packet crossed the partition");
      ++crossings;
      return Status::ok();
    });
    ASSERT_TRUE(sim.run_until(time_at(30s)).is_ok());
    for (NodeIndex i = 0; i < kNodes; ++i) EXPECT_EQ(ledger.nodes[i].has, side(i) == 0) << i;
    EXPECT_GT(sim.stats().dropped_partition, 0u);

    sim.heal();
    partitioned = false;
    ASSERT_TRUE(sim.run_until(time_at(60s)).is_ok());
    EXPECT_EQ(ledger.reached(), kNodes);
    EXPECT_GT(crossings, 0u);
  }
}

TEST(Network, PacketsInFlightWhenPartitionStartsAreLost) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(2, true);
    PingOptions opt{&ledger, {}, true};
    PingSim sim(ping_config(seed, 2, Duration::zero(), fixed_latency(100ms)),
                proto::ping_factory<Ping>(&opt));
    sim.set_invariant(conservation);
    sim.at(time_at(1000ms), [](PingSim& s) { s.send_from(0, 1, Ping{Ping::kPing, 1}); });
    sim.at(time_at(1050ms), [](PingSim& s) { s.partition({{0}, {1}}); });
    sim.at(time_at(1150ms), [](PingSim& s) {
      // Sent into a partition: dropped on the spot, never in flight.
      const uint64_t before = s.stats().dropped_partition;
      s.send_from(0, 1, Ping{Ping::kPing, 3});
      EXPECT_EQ(s.in_flight(), 0u);
      EXPECT_EQ(s.stats().dropped_partition, before + 1);
    });
    sim.at(time_at(1200ms), [](PingSim& s) { s.heal(); });
    sim.at(time_at(2000ms), [](PingSim& s) { s.send_from(0, 1, Ping{Ping::kPing, 2}); });
    ASSERT_TRUE(sim.run_until(time_at(3s)).is_ok());
    ASSERT_EQ(ledger.nodes[1].receipts.size(), 1u);
    EXPECT_EQ(ledger.nodes[1].receipts[0].msg.seq, 2u);
    EXPECT_EQ(ledger.nodes[1].receipts[0].local_time, time_at(2100ms));
    EXPECT_EQ(ledger.nodes[0].pongs_received, 1u);
    EXPECT_EQ(sim.stats().dropped_partition, 2u);  // one in flight, one at send
  }
}

TEST(Network, OneWayBlockDropsOnlyThatDirection) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    PingLedger ledger(2, false);
    PingOptions opt{&ledger, {NodeIndex{1}, NodeIndex{0}}, true};
    PingSim sim(ping_config(seed, 2, 1s, LinkModel{}), proto::ping_factory<Ping>(&opt));
    sim.set_invariant(conservation);
    sim.block(0, 1);
    ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
    EXPECT_FALSE(sim.reachable(0, 1));
    EXPECT_TRUE(sim.reachable(1, 0));
    EXPECT_EQ(ledger.nodes[1].pings_received, 0u);  // 0 -> 1 blocked
    EXPECT_GE(ledger.nodes[0].pings_received, 9u);  // 1 -> 0 flows
    EXPECT_EQ(ledger.nodes[1].pongs_received, 0u);  // answers 0 -> 1 blocked
    EXPECT_EQ(ledger.nodes[0].pongs_received, 0u);  // nothing to answer
    sim.unblock(0, 1);
    const uint64_t before = ledger.nodes[1].pings_received;
    ASSERT_TRUE(sim.run_until(time_at(20s)).is_ok());
    EXPECT_GE(ledger.nodes[1].pings_received - before, 9u);
    EXPECT_GE(ledger.nodes[1].pongs_received, 9u);
    EXPECT_GE(ledger.nodes[0].pongs_received, 9u);
  }
}

}  // namespace
}  // namespace shoal::sim
