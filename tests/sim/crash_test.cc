// Crashes and restarts: unsynced disk writes are dropped (or torn), synced
// ones stay; timers and ticks of a crashed incarnation never fire; restart
// builds a fresh process and runs start(); packets to a down node are lost.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/sim/sim_test_util.h"
#include "tests/sim/simulator.h"
#include "tests/sim/test_protocols.h"

namespace shoal::sim {
namespace {

using IntSim = Simulator<int>;

SimConfig config(uint64_t seed, uint32_t nodes, Duration tick) {
  SimConfig cfg;
  cfg.seed = seed;
  cfg.nodes = nodes;
  cfg.tick_interval = tick;
  return cfg;
}

// ------------------------------------------------------------------- disk

struct DiskLedger {
  std::vector<int> boots_seen;  // the "boots" counter read at each start
  bool saw_unsynced_put = false;
  bool saw_unsynced_erase = false;
};

// At every boot: bumps a synced boot counter, writes a and b and syncs, then
// writes c and erases a without syncing.
class DiskWriter : public Process<int> {
 public:
  explicit DiskWriter(DiskLedger* ledger) : ledger_(ledger) {}
  void start(Context<int>& ctx) override {
    SimDisk& disk = ctx.disk();
    const int boots = disk.contains("boots") ? std::stoi(*disk.get("boots")) : 0;
    ledger_->boots_seen.push_back(boots);
    disk.put("boots", std::to_string(boots + 1));
    disk.put("a", "1");
    disk.put("b", "2");
    disk.sync();
    disk.put("c", "3");
    disk.erase("a");
    // Reads see unsynced writes (page cache).
    ledger_->saw_unsynced_put = disk.get("c") == "3";
    ledger_->saw_unsynced_erase = !disk.contains("a");
  }
  void receive(Context<int>&, NodeIndex, const int&) override {}

 private:
  DiskLedger* ledger_;
};

TEST(Crash, DropsUnsyncedDiskWritesAndKeepsSyncedOnes) {
  for (uint64_t seed : sim_seeds(3)) {
    SCOPED_TRACE(replay_command(seed));
    DiskLedger ledger;
    IntSim sim(config(seed, 1, 1s),
               [&](NodeIndex) { return std::make_unique<DiskWriter>(&ledger); });
    ASSERT_TRUE(sim.run_until(time_at(1s)).is_ok());
    EXPECT_TRUE(ledger.saw_unsynced_put);
    EXPECT_TRUE(ledger.saw_unsynced_erase);
    EXPECT_EQ(sim.disk(0).unsynced_count(), 2u);

    sim.crash(0);
    const SimDisk& disk = sim.disk(0);
    EXPECT_EQ(disk.unsynced_count(), 0u);
    EXPECT_EQ(disk.get("boots"), "1");
    EXPECT_EQ(disk.get("a"), "1");  // the erase was not synced
    EXPECT_EQ(disk.get("b"), "2");
    EXPECT_FALSE(disk.contains("c"));  // the put was not synced

    sim.restart(0);
    EXPECT_EQ(ledger.boots_seen, (std::vector<int>{0, 1}));
    EXPECT_EQ(sim.disk(0).get("boots"), "2");
  }
}

// First boot: syncs "base" and "gone", then 21 unsynced writes: k00..k09,
// erase "gone", k10..k19.
class TornWriter : public Process<int> {
 public:
  void start(Context<int>& ctx) override {
    SimDisk& disk = ctx.disk();
    disk.put("base", "x");
    disk.put("gone", "x");
    disk.sync();
    for (int i = 0; i < 20; ++i) {
      if (i == 10) disk.erase("gone");
      disk.put(key(i), "v");
    }
  }
  void receive(Context<int>&, NodeIndex, const int&) override {}
  static std::string key(int i) { return (i < 10 ? "k0" : "k") + std::to_string(i); }
};

TEST(Crash, TornModeKeepsAPrefixOfUnsyncedWrites) {
  int partial = 0;
  const auto seeds = sim_seeds(20);
  for (uint64_t seed : seeds) {
    SCOPED_TRACE(replay_command(seed));
    SimConfig cfg = config(seed, 1, Duration::zero());
    cfg.disk_crash = DiskCrashMode::kTornPrefix;
    IntSim sim(cfg, [](NodeIndex) { return std::make_unique<TornWriter>(); });
    sim.at(time_at(1s), [](IntSim& s) { s.crash(0); });
    ASSERT_TRUE(sim.run_until(time_at(2s)).is_ok());
    const SimDisk& disk = sim.disk(0);
    EXPECT_TRUE(disk.contains("base"));
    int kept = 0;
    while (kept < 20 && disk.contains(TornWriter::key(kept))) ++kept;
    for (int i = kept; i < 20; ++i) EXPECT_FALSE(disk.contains(TornWriter::key(i))) << i;
    // Write #10 (the erase) survived exactly when a later put did.
    if (kept < 10) {
      EXPECT_TRUE(disk.contains("gone"));
    } else if (kept > 10) {
      EXPECT_FALSE(disk.contains("gone"));
    }
    if (kept > 0 && kept < 20) ++partial;
  }
  // The torn length is uniform in [0, 21]: most seeds keep a strict prefix.
  if (seeds.size() >= 10) {
    EXPECT_GE(partial, static_cast<int>(seeds.size()) / 2);
  }
}

// ---------------------------------------------------------- timers, restart

struct TimerLedger {
  struct Fire {
    uint32_t incarnation;
    TimePoint local_time;
    uint64_t token = 0;
  };
  int starts = 0;
  std::vector<uint64_t> first_random;  // the node Rng's first draw, per start
  std::vector<Fire> ticks;
  std::vector<Fire> timers;
};

// Sets a 5s timer at every start; records ticks and timer fires.
class TimerProbe : public Process<int> {
 public:
  explicit TimerProbe(TimerLedger* ledger) : ledger_(ledger) {}
  void start(Context<int>& ctx) override {
    ++ledger_->starts;
    ledger_->first_random.push_back(ctx.rng().next_u64());
    ctx.set_timer(5s, 100 + ctx.incarnation());
  }
  void tick(Context<int>& ctx) override {
    ++ticks_seen_;
    ledger_->ticks.push_back({ctx.incarnation(), ctx.now()});
  }
  void timer(Context<int>& ctx, uint64_t token) override {
    ledger_->timers.push_back({ctx.incarnation(), ctx.now(), token});
  }
  void receive(Context<int>&, NodeIndex, const int&) override {}
  int ticks_seen() const { return ticks_seen_; }

 private:
  TimerLedger* ledger_;
  int ticks_seen_ = 0;  // volatile state, lost at a crash
};

TEST(Crash, TimersAndTicksOfACrashedIncarnationNeverFire) {
  for (uint64_t seed : sim_seeds(10)) {
    SCOPED_TRACE(replay_command(seed));
    TimerLedger ledger;
    IntSim sim(config(seed, 1, 1s),
               [&](NodeIndex) { return std::make_unique<TimerProbe>(&ledger); });
    sim.at(time_at(2s), [](IntSim& s) { s.crash(0); });
    sim.at(time_at(3s), [](IntSim& s) { s.restart(0); });
    ASSERT_TRUE(sim.run_until(time_at(20s)).is_ok());
    // Only the second life's timer, 5s after its start at 3s.
    ASSERT_EQ(ledger.timers.size(), 1u);
    EXPECT_EQ(ledger.timers[0].token, 101u);
    EXPECT_EQ(ledger.timers[0].incarnation, 1u);
    EXPECT_EQ(ledger.timers[0].local_time, time_at(8s));
    // Ticks: first life before 2s, nothing while down, second life after 3s.
    EXPECT_GE(ledger.ticks.size(), 18u);
    for (const auto& t : ledger.ticks) {
      if (t.incarnation == 0) {
        EXPECT_LT(t.local_time, time_at(2s));
      } else {
        EXPECT_GE(t.local_time, time_at(3s));
      }
    }
  }
}

TEST(Crash, RestartRunsStartOnAFreshProcess) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    TimerLedger ledger;
    IntSim sim(config(seed, 2, 1s),
               [&](NodeIndex) { return std::make_unique<TimerProbe>(&ledger); });
    ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
    auto* first = dynamic_cast<TimerProbe*>(sim.process(1));
    ASSERT_NE(first, nullptr);
    EXPECT_GE(first->ticks_seen(), 9);

    sim.crash(1);
    EXPECT_FALSE(sim.is_up(1));
    EXPECT_EQ(sim.process(1), nullptr);
    EXPECT_TRUE(sim.is_up(0));
    sim.restart(1);
    EXPECT_TRUE(sim.is_up(1));
    EXPECT_EQ(sim.incarnation(1), 1u);
    auto* second = dynamic_cast<TimerProbe*>(sim.process(1));
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->ticks_seen(), 0);  // volatile state did not survive
    EXPECT_EQ(ledger.starts, 3);         // two first boots + one restart
    // A new life draws new random numbers.
    ASSERT_EQ(ledger.first_random.size(), 3u);
    EXPECT_NE(ledger.first_random[2], ledger.first_random[1]);
    EXPECT_NE(ledger.first_random[2], ledger.first_random[0]);
    EXPECT_EQ(sim.stats().crashes, 1u);
    EXPECT_EQ(sim.stats().restarts, 1u);
  }
}

TEST(Crash, NodeCrashedBeforeTheRunNeverBootsUntilRestarted) {
  TimerLedger ledger;
  IntSim sim(config(1, 1, 1s), [&](NodeIndex) { return std::make_unique<TimerProbe>(&ledger); });
  sim.crash(0);
  ASSERT_TRUE(sim.run_until(time_at(5s)).is_ok());
  EXPECT_EQ(ledger.starts, 0);
  EXPECT_TRUE(ledger.ticks.empty());
  sim.restart(0);
  EXPECT_EQ(ledger.starts, 1);
}

TEST(Crash, PacketsToADownNodeAreDropped) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    proto::PingLedger ledger(2, true);
    proto::PingOptions opt{&ledger, {NodeIndex{1}, NodeIndex{0}}, true};
    Simulator<proto::Ping> sim(config(seed, 2, 100ms), proto::ping_factory<proto::Ping>(&opt));
    sim.set_invariant([](const auto& s) { return s.check_conservation(); });
    sim.at(time_at(1s), [](auto& s) { s.crash(1); });
    sim.at(time_at(5s), [](auto& s) { s.restart(1); });
    ASSERT_TRUE(sim.run_until(time_at(10s)).is_ok());
    EXPECT_GE(sim.stats().dropped_down, 35u);  // ~40 pings at 100ms while down
    for (const auto& r : ledger.nodes[1].receipts) {
      EXPECT_TRUE(r.local_time < time_at(1s) || r.local_time >= time_at(5s));
    }
    // Pongs from node 1 stop while it is down (the last ones may land just after).
    for (const auto& r : ledger.nodes[0].receipts) {
      if (r.msg.type != proto::Ping::kPong) continue;
      EXPECT_TRUE(r.local_time < time_at(1020ms) || r.local_time >= time_at(5s));
    }
    EXPECT_EQ(ledger.nodes[1].starts, 2u);
  }
}

}  // namespace
}  // namespace shoal::sim
