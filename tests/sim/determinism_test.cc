// One seed drives everything: the same seed replays the same run (trace hash
// and counters), different seeds give different runs, and the choice of
// message representation does not change what happens.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"
#include "tests/sim/test_protocols.h"

namespace shoal::sim {
namespace {

using proto::Ping;
using proto::PingLedger;
using proto::PingOptions;

struct RunResult {
  uint64_t hash;
  SimStats stats;
};

// Twenty nodes pinging random peers through every fault the simulator has:
// loss, duplication, reordering, skew, a crash and restart, a two-way
// partition and a one-way block.
template <class Msg>
RunResult run_chaotic_ping(uint64_t seed) {
  PingLedger ledger(20, false);
  PingOptions opt{&ledger, {}, true};
  SimConfig cfg;
  cfg.seed = seed;
  cfg.nodes = 20;
  cfg.tick_interval = 200ms;
  cfg.network = LinkModel{1ms, 30ms, 0.1, 0.05, 0.1, 50ms};
  Simulator<Msg> sim(cfg, proto::ping_factory<Msg>(&opt));
  sim.set_invariant([](const Simulator<Msg>& s) { return s.check_conservation(); });
  sim.set_clock_skew(3, 250ms, 20'000);
  sim.at(time_at(5s), [](Simulator<Msg>& s) {
    s.crash(4);
    s.partition({{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}});
  });
  sim.at(time_at(9s), [](Simulator<Msg>& s) {
    s.restart(4);
    s.heal();
    s.block(1, 2);
  });
  const Status st = sim.run_until(time_at(20s));
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return {sim.trace_hash(), sim.stats()};
}

TEST(Determinism, SameSeedGivesIdenticalTraceAndStats) {
  for (uint64_t seed : sim_seeds(10)) {
    SCOPED_TRACE(replay_command(seed));
    const RunResult a = run_chaotic_ping<Ping>(seed);
    const RunResult b = run_chaotic_ping<Ping>(seed);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.stats, b.stats);
    // The run really exercised the faults.
    EXPECT_GT(a.stats.events, 3000u);
    EXPECT_GT(a.stats.dropped_loss, 0u);
    EXPECT_GT(a.stats.dropped_partition, 0u);
    EXPECT_GT(a.stats.duplicated, 0u);
    EXPECT_GT(a.stats.reordered, 0u);
    EXPECT_EQ(a.stats.crashes, 1u);
    EXPECT_EQ(a.stats.restarts, 1u);
  }
}

TEST(Determinism, DifferentSeedsGiveDifferentTraces) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 8; ++seed) hashes.insert(run_chaotic_ping<Ping>(seed).hash);
  EXPECT_EQ(hashes.size(), 8u);
}

TEST(Determinism, MessageRepresentationDoesNotChangeTheRun) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    const RunResult by_value = run_chaotic_ping<Ping>(seed);
    const RunResult shared = run_chaotic_ping<std::shared_ptr<const Ping>>(seed);
    const RunResult bytes = run_chaotic_ping<std::vector<uint8_t>>(seed);
    EXPECT_EQ(by_value.hash, shared.hash);
    EXPECT_EQ(by_value.hash, bytes.hash);
    EXPECT_EQ(by_value.stats, shared.stats);
    EXPECT_EQ(by_value.stats, bytes.stats);
  }
}

// A process that only puts a fixed fact into the trace at every tick.
class Tracer : public Process<int> {
 public:
  explicit Tracer(uint64_t fact) : fact_(fact) {}
  void start(Context<int>&) override {}
  void tick(Context<int>& ctx) override { ctx.trace(fact_); }
  void receive(Context<int>&, NodeIndex, const int&) override {}

 private:
  uint64_t fact_;
};

TEST(Determinism, TraceHashCoversWhatProcessesTrace) {
  auto run = [](uint64_t fact) {
    SimConfig cfg;
    cfg.nodes = 3;
    Simulator<int> sim(cfg, [fact](NodeIndex) { return std::make_unique<Tracer>(fact); });
    EXPECT_TRUE(sim.run_for(10s).is_ok());
    return RunResult{sim.trace_hash(), sim.stats()};
  };
  const RunResult a = run(1), b = run(2);
  EXPECT_EQ(a.stats, b.stats);  // the same events...
  EXPECT_NE(a.hash, b.hash);    // ...but processes saw different things
}

TEST(Determinism, SameTimeEventsRunInSchedulingOrder) {
  SimConfig cfg;
  cfg.tick_interval = Duration::zero();
  Simulator<int> sim(cfg, [](NodeIndex) { return std::make_unique<Tracer>(0); });
  std::vector<int> order;
  sim.at(time_at(2s), [&](Simulator<int>&) { order.push_back(1); });
  sim.at(time_at(1s), [&](Simulator<int>& s) {
    order.push_back(0);
    s.at(time_at(2s), [&](Simulator<int>&) { order.push_back(3); });
  });
  sim.at(time_at(2s), [&](Simulator<int>&) { order.push_back(2); });
  ASSERT_TRUE(sim.run_until(time_at(3s)).is_ok());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(sim.now(), time_at(3s));
}

}  // namespace
}  // namespace shoal::sim
