// The invariant hook runs after every event, and a failure stops the run with
// a Status that says which event, at what virtual time, under which seed.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"
#include "tests/sim/test_protocols.h"

namespace shoal::sim {
namespace {

using proto::Ping;
using PingSim = Simulator<Ping>;

SimConfig config(uint64_t seed) {
  SimConfig cfg;
  cfg.seed = seed;
  cfg.nodes = 5;
  cfg.tick_interval = 100ms;
  return cfg;
}

TEST(Invariant, FailureStopsTheRunAndNamesTheEvent) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    proto::PingLedger ledger(5, false);
    proto::PingOptions opt{&ledger, {}, true};
    PingSim sim(config(seed), proto::ping_factory<Ping>(&opt));
    // Deliberately broken: "fewer than 7 packets are ever delivered".
    sim.set_invariant([](const PingSim& s) {
      return s.stats().delivered < 7 ? Status::ok() : Status::conflict("seventh delivery");
    });
    const Status st = sim.run_until(time_at(60s));
    ASSERT_FALSE(st.is_ok());
    EXPECT_EQ(st.code(), StatusCode::kConflict);
    const EventInfo& e = sim.current_event();
    EXPECT_EQ(e.kind, EventKind::kDeliver);
    EXPECT_EQ(e.outcome, EventOutcome::kApplied);
    EXPECT_EQ(e.number, sim.stats().events);
    EXPECT_EQ(sim.stats().delivered, 7u);
    // The run stopped at the failing event, long before the deadline.
    EXPECT_EQ(sim.now(), e.time);
    EXPECT_LT(sim.now(), time_at(60s));
    const std::string& m = st.message();
    EXPECT_NE(m.find("event #" + std::to_string(e.number) + " at " +
                     format_duration(e.time.time_since_epoch()) + ": deliver to node " +
                     std::to_string(e.node) + " from " + std::to_string(e.from)),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("seed " + std::to_string(seed)), std::string::npos) << m;
    EXPECT_NE(m.find("seventh delivery"), std::string::npos) << m;
  }
}

TEST(Invariant, RunsAfterEveryEvent) {
  proto::PingLedger ledger(5, false);
  proto::PingOptions opt{&ledger, {}, true};
  PingSim sim(config(1), proto::ping_factory<Ping>(&opt));
  sim.at(time_at(3s), [](PingSim& s) { s.crash(2); });
  sim.at(time_at(4s), [](PingSim& s) { s.restart(2); });
  uint64_t calls = 0;
  sim.set_invariant([&](const PingSim& s) {
    ++calls;
    return s.current_event().number == calls ? Status::ok() : Status::internal("skipped an event");
  });
  ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
  EXPECT_EQ(calls, sim.stats().events);
  EXPECT_GT(calls, 1000u);
}

TEST(Invariant, ConservationCatchesBrokenBookkeeping) {
  proto::PingLedger ledger(5, false);
  proto::PingOptions opt{&ledger, {}, true};
  PingSim sim(config(1), proto::ping_factory<Ping>(&opt));
  sim.set_invariant([](const PingSim& s) { return s.check_conservation(); });
  ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
  EXPECT_GT(sim.stats().delivered, 0u);
}

// A failed assertion inside a seed loop carries the one-line replay command.
TEST(Invariant, FailedAssertionPrintsTheReplayCommand) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    SCOPED_TRACE(replay_command(42));
    ADD_FAILURE() << "simulated failure";
  }
  ASSERT_EQ(failures.size(), 1);
  const std::string text = failures.GetTestPartResult(0).message();
  EXPECT_NE(text.find("SHOAL_SIM_SEED=42 ctest --test-dir "), std::string::npos) << text;
  EXPECT_NE(text.find("-R '^Invariant.FailedAssertionPrintsTheReplayCommand$'"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace shoal::sim
