// Per-node clock skew: offset and rate change what a node's clock reads, and
// ticks and timers run on that local clock. Ticks start at random phases.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"

namespace shoal::sim {
namespace {

using IntSim = Simulator<int>;

struct ClockLedger {
  struct Node {
    TimePoint start_local{};
    std::vector<TimePoint> ticks;
    std::vector<TimePoint> timers;  // local time at each fire
  };
  std::vector<Node> nodes;
};

class ClockProbe : public Process<int> {
 public:
  ClockProbe(ClockLedger* ledger, Duration timer) : ledger_(ledger), timer_(timer) {}
  void start(Context<int>& ctx) override {
    log(ctx).start_local = ctx.now();
    if (timer_.count() > 0) ctx.set_timer(timer_, 1);
  }
  void tick(Context<int>& ctx) override { log(ctx).ticks.push_back(ctx.now()); }
  void timer(Context<int>& ctx, uint64_t) override { log(ctx).timers.push_back(ctx.now()); }
  void receive(Context<int>&, NodeIndex, const int&) override {}

 private:
  ClockLedger::Node& log(Context<int>& ctx) { return ledger_->nodes[ctx.self()]; }
  ClockLedger* ledger_;
  Duration timer_;
};

IntSim::Factory probes(ClockLedger* ledger, Duration timer) {
  return [ledger, timer](NodeIndex) { return std::make_unique<ClockProbe>(ledger, timer); };
}

SimConfig config(uint64_t seed, uint32_t nodes) {
  SimConfig cfg;
  cfg.seed = seed;
  cfg.nodes = nodes;
  return cfg;
}

TEST(Clock, FastClockTicksProportionallyMoreOften) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    ClockLedger ledger{std::vector<ClockLedger::Node>(3)};
    IntSim sim(config(seed, 3), probes(&ledger, Duration::zero()));
    sim.set_clock_skew(1, Duration::zero(), 100'000);   // +10%
    sim.set_clock_skew(2, Duration::zero(), -100'000);  // -10%
    ASSERT_TRUE(sim.run_until(time_at(1000s)).is_ok());
    const auto normal = static_cast<double>(ledger.nodes[0].ticks.size());
    EXPECT_NEAR(normal, 1000, 1);
    EXPECT_NEAR(static_cast<double>(ledger.nodes[1].ticks.size()) / normal, 1.1, 0.003);
    EXPECT_NEAR(static_cast<double>(ledger.nodes[2].ticks.size()) / normal, 0.9, 0.003);
    // Ticks are one local second apart (to the nanosecond the conversion
    // back from virtual time rounds to).
    const auto& fast = ledger.nodes[1].ticks;
    for (size_t i = 1; i < fast.size(); ++i) {
      EXPECT_NEAR((fast[i] - fast[i - 1]).count(), Duration(1s).count(), 1);
    }
  }
}

TEST(Clock, OffsetAndRateApplyToNowAndTimers) {
  ClockLedger ledger{std::vector<ClockLedger::Node>(2)};
  SimConfig cfg = config(1, 2);
  cfg.tick_interval = Duration::zero();
  IntSim sim(cfg, probes(&ledger, 2s));
  sim.set_clock_skew(1, 5s, 50'000);  // 5s ahead, 5% fast
  std::vector<TimePoint> timer_virtual;
  sim.set_invariant([&](const IntSim& s) {
    if (s.current_event().kind == EventKind::kTimer) timer_virtual.push_back(s.now());
    return Status::ok();
  });
  ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
  EXPECT_EQ(ledger.nodes[0].start_local, time_at(0s));
  EXPECT_EQ(ledger.nodes[1].start_local, time_at(5s));
  ASSERT_EQ(ledger.nodes[1].timers.size(), 1u);
  // The fast node's 2s timer fires at local 7s, after 2s / 1.05 of virtual time.
  const Duration late = ledger.nodes[1].timers[0] - time_at(7s);
  EXPECT_GE(late.count(), 0);
  EXPECT_LT(late.count(), 2);
  ASSERT_EQ(timer_virtual.size(), 2u);
  EXPECT_EQ(timer_virtual[0], time_at(1'904'761'905ns));  // ceil(2e9 / 1.05)
  EXPECT_EQ(timer_virtual[1], time_at(2s));
  EXPECT_EQ(sim.local_time(1), time_at(15'500'000'000ns));  // 5s + 10s * 1.05
}

TEST(Clock, FirstTicksAreSpreadOverTheInterval) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    ClockLedger ledger{std::vector<ClockLedger::Node>(100)};
    IntSim sim(config(seed, 100), probes(&ledger, Duration::zero()));
    ASSERT_TRUE(sim.run_until(time_at(1s)).is_ok());
    std::set<TimePoint> first;
    for (const auto& n : ledger.nodes) {
      ASSERT_EQ(n.ticks.size(), 1u);
      EXPECT_LT(n.ticks[0], time_at(1s));
      first.insert(n.ticks[0]);
    }
    EXPECT_GE(first.size(), 95u);
  }
}

TEST(Clock, SkewChangesTheRun) {
  auto hash = [](int64_t ppm) {
    ClockLedger ledger{std::vector<ClockLedger::Node>(3)};
    IntSim sim(config(1, 3), probes(&ledger, 3s));
    sim.set_clock_skew(2, Duration::zero(), ppm);
    EXPECT_TRUE(sim.run_for(60s).is_ok());
    return sim.trace_hash();
  };
  EXPECT_EQ(hash(1000), hash(1000));
  EXPECT_NE(hash(1000), hash(2000));
}

}  // namespace
}  // namespace shoal::sim
