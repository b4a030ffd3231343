// Raft under randomized faults on the simulator, every node a production
// RaftHost: crashes that drop unsynced writes, nodes dying inside an fsync,
// restarts, partitions, loss, duplication, reordering, leader transfers and
// membership changes with learner promotion. The harness checks election
// safety, vote durability, log matching, leader completeness and
// state-machine safety after every event; at the end the client history
// must be linearizable. 510 seeds in CI (SHOAL_SIM_SEEDS raises it
// offline); a failure prints the one-line replay command.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tests/sim/raft_harness.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::raft_sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

LinkModel faulty_network() {
  LinkModel net;
  net.latency_min = milliseconds(1);
  net.latency_max = milliseconds(8);
  net.loss = 0.02;
  net.duplicate = 0.02;
  net.reorder = 0.05;
  return net;
}

// Schedules random faults in [from, to): every 0.3-2 s one of crash (with a
// restart 0.2-4 s later), partition (healed 0.5-4 s later), leader transfer,
// or isolating the leader.
void schedule_faults(RaftHarness& h, uint64_t seed, TimePoint from, TimePoint to) {
  Rng rng(seed ^ 0xfa17fa17ULL);
  const uint32_t n = h.nodes();
  for (TimePoint t = from + milliseconds(300 + rng.uniform(1700)); t < to;
       t += milliseconds(300 + rng.uniform(1700))) {
    const uint64_t roll = rng.uniform(100);
    const NodeIndex victim = static_cast<NodeIndex>(rng.uniform(n));
    const auto back = milliseconds(200 + rng.uniform(3800));
    if (roll < 35) {
      h.sim().at(t, [&h, victim, back](RaftSimulator& s) {
        h.crash(victim);
        s.after(back, [&h, victim](RaftSimulator&) { h.restart(victim); });
      });
    } else if (roll < 55) {
      h.sim().at(t, [&h, back](RaftSimulator& s) {
        // Crash whoever leads now.
        if (auto l = h.leader()) {
          const NodeIndex v = *l;
          h.crash(v);
          s.after(back, [&h, v](RaftSimulator&) { h.restart(v); });
        }
      });
    } else if (roll < 75) {
      std::vector<NodeIndex> a, b;
      for (NodeIndex i = 0; i < n; ++i) (rng.chance(0.5) ? a : b).push_back(i);
      h.sim().at(t, [a, b, back](RaftSimulator& s) {
        s.partition({a, b});
        s.after(back, [](RaftSimulator& s2) { s2.heal(); });
      });
    } else if (roll < 88) {
      const NodeIndex to_node = static_cast<NodeIndex>(rng.uniform(n));
      h.sim().at(t, [&h, to_node](RaftSimulator&) {
        if (auto l = h.leader()) (void)h.transfer(*l, to_node);
      });
    } else {
      h.sim().at(t, [&h, back](RaftSimulator& s) {
        if (auto l = h.leader()) {
          std::vector<NodeIndex> rest;
          for (NodeIndex i = 0; i < h.nodes(); ++i) {
            if (i != *l) rest.push_back(i);
          }
          s.partition({{*l}, rest});
          s.after(back, [](RaftSimulator& s2) { s2.heal(); });
        }
      });
    }
  }
}

// After the faults: heal, restart everyone, let the clients run a little,
// stop them and wait for every member to apply everything.
void finish(RaftHarness& h, TimePoint faults_end) {
  h.sim().at(faults_end, [&h](RaftSimulator& s) {
    s.heal();
    for (NodeIndex i = 0; i < h.nodes(); ++i) h.restart(i);
  });
  ASSERT_TRUE(h.sim().run_until(faults_end + seconds(5)).is_ok()) << h.violation().to_string();
  h.stop_clients();
  const TimePoint limit = faults_end + seconds(30);
  while (!h.converged() && h.sim().now() < limit) {
    ASSERT_TRUE(h.sim().run_for(milliseconds(100)).is_ok()) << h.violation().to_string();
  }
  ASSERT_TRUE(h.converged()) << "no convergence 25 s after the faults stopped";
  ASSERT_TRUE(h.check_final().is_ok()) << h.check_final().to_string();
  const CheckResult lin = check_linearizable(h.history().ops());
  ASSERT_FALSE(lin.gave_up) << lin.explanation;
  ASSERT_TRUE(lin.linearizable) << lin.explanation;
}

void run_random_faults(uint32_t voters, uint64_t seed) {
  HarnessConfig cfg;
  cfg.seed = seed;
  cfg.voters = voters;
  cfg.network = faulty_network();
  // Frequent snapshots sent in small chunks, so that slow and restarted
  // followers catch up through chunked InstallSnapshot as well as the log.
  cfg.compact_every = 32;
  cfg.compact_keep = 8;
  cfg.raft.snapshot_chunk_bytes = 40;
  // Now and then a node dies inside an fsync, the one place a crash splits
  // the host's pass (what it did before the write is seen, nothing after).
  cfg.crash_in_fsync = 0.001;
  RaftHarness h(cfg);
  h.start_clients(4, milliseconds(30));
  const TimePoint end = TimePoint(seconds(20));
  schedule_faults(h, seed, TimePoint(seconds(3)), end);
  finish(h, end);
  if (std::getenv("SHOAL_RAFT_SIM_VERBOSE") != nullptr) {
    const Counters& c = h.counters();
    std::printf(
        "seed %llu: puts %llu gets %llu deletes %llu failed %llu indeterminate %llu "
        "elections %llu snapshots %llu fsync crashes %llu events %llu\n",
        static_cast<unsigned long long>(seed), static_cast<unsigned long long>(c.puts_ok),
        static_cast<unsigned long long>(c.gets_ok), static_cast<unsigned long long>(c.deletes_ok),
        static_cast<unsigned long long>(c.failed), static_cast<unsigned long long>(c.indeterminate),
        static_cast<unsigned long long>(c.elections),
        static_cast<unsigned long long>(c.snapshots_sent),
        static_cast<unsigned long long>(c.fsync_crashes),
        static_cast<unsigned long long>(h.sim().stats().events));
  }
  EXPECT_GT(h.counters().puts_ok, 20u);
  EXPECT_GT(h.counters().gets_ok, 20u);
}

TEST(RaftSim, ThreeNodesUnderRandomFaultsStaySafeAndLinearizable) {
  for (uint64_t seed : sim_seeds(250)) {
    SCOPED_TRACE(replay_command(seed));
    run_random_faults(3, seed);
    if (HasFatalFailure()) return;
  }
}

TEST(RaftSim, FiveNodesUnderRandomFaultsStaySafeAndLinearizable) {
  for (uint64_t seed : sim_seeds(150)) {
    SCOPED_TRACE(replay_command(seed));
    run_random_faults(5, seed);
    if (HasFatalFailure()) return;
  }
}

// Two spare nodes join as learners, are promoted, and voters are removed,
// one change at a time, while nodes crash and the network misbehaves.
TEST(RaftSim, MembershipChangesWithLearnerPromotion) {
  for (uint64_t seed : sim_seeds(110)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.spares = 2;
    cfg.network = faulty_network();
    cfg.crash_in_fsync = 0.001;
    RaftHarness h(cfg);
    h.start_clients(3, milliseconds(30));
    Rng rng(seed ^ 0x3e3bULL);
    // The plan, retried every 300 ms until the leader accepts each step.
    using CC = raft::ConfChange;
    std::vector<CC> plan = {
        {CC::Kind::kAddLearner, RaftHarness::id_of(3)},
        {CC::Kind::kPromoteLearner, RaftHarness::id_of(3)},
        {CC::Kind::kRemove, RaftHarness::id_of(static_cast<NodeIndex>(rng.uniform(3)))},
        {CC::Kind::kAddLearner, RaftHarness::id_of(4)},
        {CC::Kind::kPromoteLearner, RaftHarness::id_of(4)},
    };
    // Whether a step shows in a configuration.
    auto done = [](const CC& cc, const raft::ConfState& cs) {
      switch (cc.kind) {
        case CC::Kind::kAddLearner:
          return cs.contains(cc.node);
        case CC::Kind::kPromoteLearner:
        case CC::Kind::kAddVoter:
          return cs.is_voter(cc.node);
        case CC::Kind::kRemove:
          return !cs.contains(cc.node);
      }
      return false;
    };
    size_t step = 0;
    // Attempts run through the faults and the quiet period after them.
    for (int k = 0; k < 90; ++k) {
      h.sim().at(TimePoint(seconds(2) + milliseconds(300 * k)), [&](RaftSimulator&) {
        if (step >= plan.size()) return;
        auto l = h.leader();
        if (!l) return;
        const std::optional<node::RaftStatus> st = h.status(*l);
        if (!st) return;
        // A step counts once the leader's configuration shows it and
        // everything the leader holds is committed (an accepted change can
        // still be lost with its leader).
        if (done(plan[step], st->conf)) {
          if (st->commit == st->last_index) ++step;
          return;
        }
        // A learner is promoted only once it caught up (as autopilot does).
        if (plan[step].kind == CC::Kind::kPromoteLearner) {
          auto it =
              std::find_if(st->peers.begin(), st->peers.end(),
                           [&](const node::RaftPeerStatus& p) { return p.id == plan[step].node; });
          if (it == st->peers.end() || it->match + 5 < st->last_index) return;
        }
        (void)h.conf_change(*l, plan[step]);
      });
    }
    const TimePoint end = TimePoint(seconds(22));
    schedule_faults(h, seed, TimePoint(seconds(3)), end);
    finish(h, end);
    if (HasFatalFailure()) return;
    // Every step eventually applied: the final configuration has 4 voters
    // (3 + 2 promoted - 1 removed) unless a step was still refused.
    auto l = h.leader();
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(step, plan.size());
    const std::optional<node::RaftStatus> st = h.status(*l);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->conf.voters.size(), 4u);
  }
}

// What the harness is for: the agent's host loop, with what the old private
// loop lacked, really runs. A steady leader paces proposals into batches,
// every node compacts its log, and a follower that was down long enough
// catches up through a snapshot install.
TEST(RaftSim, TheProductionHostPacesCompactsAndInstallsSnapshots) {
  for (uint64_t seed : sim_seeds(5)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.network = faulty_network();
    cfg.compact_every = 16;
    cfg.compact_keep = 4;
    RaftHarness h(cfg);
    h.start_clients(4, milliseconds(20));
    ASSERT_TRUE(h.sim().run_until(TimePoint(seconds(3))).is_ok()) << h.violation().to_string();
    auto l = h.leader();
    ASSERT_TRUE(l.has_value());
    const NodeIndex follower = (*l + 1) % h.nodes();
    h.crash(follower);
    ASSERT_TRUE(h.sim().run_until(TimePoint(seconds(6))).is_ok()) << h.violation().to_string();
    h.restart(follower);
    ASSERT_TRUE(h.sim().run_until(TimePoint(seconds(9))).is_ok()) << h.violation().to_string();
    EXPECT_GT(h.counters().snapshots_sent, 0u);
    l = h.leader();
    ASSERT_TRUE(l.has_value());
    EXPECT_GT(h.host_stats(*l)->held_proposals.load(), 0u);
    EXPECT_GT(h.host_stats(*l)->paced_batches.load(), 0u);
    for (NodeIndex i = 0; i < h.nodes(); ++i) {
      ASSERT_NE(h.host_stats(i), nullptr);
      EXPECT_GT(h.host_stats(i)->compactions.load(), 0u) << "node " << i;
    }
  }
}

// The leader crashes in a steady cluster: how long until a new one leads?
// Default timings (heartbeat 100 ms, election timeout in [1 s, 2 s)).
TEST(RaftSim, LeaderlessTimeAfterALeaderCrashIsBounded) {
  std::vector<double> gaps;
  for (uint64_t seed : sim_seeds(100)) {
    SCOPED_TRACE(replay_command(seed));
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    RaftHarness h(cfg);
    h.start_clients(2, milliseconds(50));
    ASSERT_TRUE(h.sim().run_until(TimePoint(seconds(5))).is_ok());
    auto l = h.leader();
    ASSERT_TRUE(l.has_value());
    h.crash(*l);
    ASSERT_TRUE(h.sim().run_until(TimePoint(seconds(15))).is_ok()) << h.violation().to_string();
    ASSERT_EQ(h.leaderless_gaps().size(), 1u);
    gaps.push_back(h.leaderless_gaps()[0]);
    if (std::getenv("SHOAL_RAFT_SIM_VERBOSE") != nullptr) {
      std::printf("seed %llu: leaderless %.3f s\n", static_cast<unsigned long long>(seed),
                  gaps.back());
    }
  }
  std::sort(gaps.begin(), gaps.end());
  const double p99 = gaps[std::min(gaps.size() - 1, gaps.size() * 99 / 100)];
  std::printf("leaderless after a leader crash: p50 %.2f s, p99 %.2f s over %zu seeds\n",
              gaps[gaps.size() / 2], p99, gaps.size());
  EXPECT_LE(p99, 3.0);
}

}  // namespace
}  // namespace shoal::sim::raft_sim
