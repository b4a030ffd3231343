// Agents on the simulator (cluster_harness.h): voters running the production
// RaftHost, observers following the log with the agent's FollowClient, every
// agent forwarding writes with the agent's ForwardRouter. The harness checks
// election and state-machine safety (observers included) after every event;
// writes must be linearizable at the end. A failure prints the one-line
// replay command.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tests/sim/cluster_harness.h"
#include "tests/sim/sim_test_util.h"

namespace shoal::sim::cluster_sim {
namespace {

using namespace std::chrono_literals;

double p99(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(static_cast<double>(v.size()) * 0.99))];
}

// With the writers stopped and the cluster quiet: a final read of every
// key from the leader's state joins the history, so the check also proves
// that no write answered 503 took effect and the acknowledged ones did.
void expect_linearizable(ClusterHarness& h) {
  h.record_final_reads();
  const CheckResult r = check_linearizable(h.history().ops());
  EXPECT_TRUE(r.linearizable) << r.explanation;
}

// A caught-up observer learns a new entry within a network trip of a voter
// applying it (the long poll), so observers can take part in placement.
TEST(ClusterSim, ObserversApplyEachEntryWithinMillisecondsOfTheVoters) {
  for (uint64_t seed : sim_seeds(20)) {
    SCOPED_TRACE(replay_command(seed));
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 3;
    ClusterHarness h(cfg);
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    h.start_writers();
    ASSERT_TRUE(h.sim().run_for(10s).is_ok()) << h.violation().to_string();
    h.stop_writers();
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    EXPECT_TRUE(h.converged());
    EXPECT_GT(h.counters().writes_ok, 500u);
    ASSERT_GT(h.observer_lag().size(), 500u);
    EXPECT_LT(p99(h.observer_lag()), 0.020) << "observers apply within 20 ms p99 of the voters";
    expect_linearizable(h);
  }
}

// kill -9 of the leader: writes through every surviving agent, voters and
// observers alike, succeed again within seconds; observers do not wait for
// gossip to declare the leader dead (its detection delay here is 4-8 s).
TEST(ClusterSim, WritesThroughEverySurvivingAgentResumeAfterALeaderKill) {
  for (uint64_t seed : sim_seeds(30)) {
    SCOPED_TRACE(replay_command(seed));
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 3;
    cfg.detect_min = 4s;
    cfg.detect_max = 8s;
    ClusterHarness h(cfg);
    h.start_writers();
    Rng rng(seed);
    ASSERT_TRUE(h.sim().run_for(3s + std::chrono::milliseconds(rng.uniform(1000))).is_ok())
        << h.violation().to_string();
    auto l = h.leader();
    ASSERT_TRUE(l.has_value()) << "no leader after 3 s";
    h.crash(*l);
    h.mark();
    ASSERT_TRUE(h.sim().run_for(6s).is_ok()) << h.violation().to_string();
    for (NodeIndex i = 0; i < h.agents(); ++i) {
      if (i == *l) continue;
      auto t = h.resumed_after(i);
      ASSERT_TRUE(t.has_value()) << "no write through agent " << i << " succeeded in 6 s";
      EXPECT_LT(*t, 3.0) << "agent " << i << (h.is_voter(i) ? " (voter)" : " (observer)");
    }
    h.stop_writers();
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    expect_linearizable(h);
  }
}

// The negative control: observers that give their source up only when
// gossip calls it dead (and whose FollowPlan tolerates 10 s of silence)
// resume long after the voters; the measurement above must see it.
TEST(ClusterSim, ObserversThatWaitForGossipAreCaughtResumingLate) {
  int late = 0;
  // A share of runs is asserted: always 20 of them, whatever SHOAL_SIM_SEED(S) say.
  std::vector<uint64_t> seeds;
  for (uint64_t s = 1; s <= 20; ++s) seeds.push_back(s);
  for (uint64_t seed : seeds) {
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 3;
    cfg.detect_min = 4s;
    cfg.detect_max = 8s;
    cfg.control_ignore_closed = true;
    cfg.follow.slack = 10s;
    ClusterHarness h(cfg);
    h.start_writers();
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    auto l = h.leader();
    ASSERT_TRUE(l.has_value());
    h.crash(*l);
    h.mark();
    ASSERT_TRUE(h.sim().run_for(12s).is_ok()) << h.violation().to_string();
    double worst = 0;
    for (NodeIndex i = h.config().voters; i < h.agents(); ++i) {
      worst = std::max(worst, h.resumed_after(i).value_or(12.0));
    }
    if (worst >= 3.0) ++late;
  }
  // The observers spread over the voters by id: one of the three follows
  // the leader that is killed.
  EXPECT_GE(late * 2, static_cast<int>(seeds.size())) << late << " of " << seeds.size();
  std::printf("negative control: observers resumed 3 s or more after the kill in %d of %zu runs\n",
              late, seeds.size());
}

// Observers follow through crashes and restarts of voters (the leader
// included), lossy links and partitions that cut observers off; they end
// with the same state as the voters, and every write is linearizable.
TEST(ClusterSim, ObserversFollowThroughCrashesPartitionsAndLoss) {
  for (uint64_t seed : sim_seeds(20)) {
    SCOPED_TRACE(replay_command(seed));
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 3;
    cfg.network.loss = 0.02;
    cfg.compact_every = 100;  // observers that fall behind catch up from snapshots
    cfg.compact_keep = 10;
    ClusterHarness h(cfg);
    h.start_writers();
    Rng rng(seed ^ 0xc1u);
    for (Duration t = 2s; t < 40s; t += std::chrono::milliseconds(500 + rng.uniform(2500))) {
      const uint64_t roll = rng.uniform(100);
      const auto victim = static_cast<NodeIndex>(rng.uniform(h.agents()));
      const auto back = std::chrono::milliseconds(300 + rng.uniform(3000));
      h.sim().at(time_at(t), [&h, roll, victim, back](ClusterSimulator& s) {
        if (roll < 40) {
          NodeIndex v = victim;
          if (roll < 20) {
            if (auto l = h.leader()) v = *l;
          }
          h.crash(v);
          s.after(back, [&h, v](ClusterSimulator&) { h.restart(v); });
        } else if (roll < 70) {
          // Cut one agent off from all others.
          std::vector<NodeIndex> rest;
          for (NodeIndex i = 0; i < h.agents(); ++i) {
            if (i != victim) rest.push_back(i);
          }
          s.partition({{victim}, rest});
          s.after(back, [](ClusterSimulator& s2) { s2.heal(); });
        }
      });
    }
    ASSERT_TRUE(h.sim().run_for(45s).is_ok()) << h.violation().to_string();
    for (NodeIndex i = 0; i < h.agents(); ++i) h.restart(i);
    h.sim().heal();
    h.stop_writers();
    ASSERT_TRUE(h.sim().run_for(15s).is_ok()) << h.violation().to_string();
    EXPECT_TRUE(h.converged()) << "every agent applied the leader's log";
    EXPECT_GT(h.counters().writes_ok, 100u);
    expect_linearizable(h);
  }
}

// Formation with --bootstrap-expect 3 on five empty agents: exactly one
// cluster of three voters forms through gossip, the other two follow it as
// observers, and writes through all five work.
TEST(ClusterSim, FiveEmptyAgentsFormOneClusterWithBootstrapExpect) {
  for (uint64_t seed : sim_seeds(20)) {
    SCOPED_TRACE(replay_command(seed));
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 2;
    cfg.bootstrap_expect = 3;
    ClusterHarness h(cfg);
    ASSERT_TRUE(h.sim().run_for(5s).is_ok()) << h.violation().to_string();
    ASSERT_TRUE(h.leader().has_value()) << "no cluster formed in 5 s";
    const std::string id = h.cluster_id_of(*h.leader());
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(h.leader_conf().voters.size(), 3u);
    int with_log = 0;
    for (NodeIndex i = 0; i < h.agents(); ++i) {
      EXPECT_EQ(h.cluster_id_of(i), id) << "agent " << i;
      with_log += h.has_log(i) ? 1 : 0;
    }
    EXPECT_EQ(with_log, 3) << "the two others follow as observers";
    h.start_writers();
    ASSERT_TRUE(h.sim().run_for(5s).is_ok()) << h.violation().to_string();
    h.stop_writers();
    ASSERT_TRUE(h.sim().run_for(2s).is_ok()) << h.violation().to_string();
    EXPECT_TRUE(h.converged());
    for (NodeIndex i = 0; i < h.agents(); ++i) EXPECT_GT(h.applied(i), 3u) << "agent " << i;
    expect_linearizable(h);
  }
}

// Autopilot after a voter dies for good: once --dead-voter-grace has passed
// it makes an observer of the dead voter's zone a voter (never one started
// with --voter never), then removes the dead one. When the dead voter comes
// back with its old log, it finds itself replaced, moves the log aside and
// follows as an observer, with the cluster's whole state.
TEST(ClusterSim, AutopilotReplacesADeadVoterAndTheReplacedOneComesBackAsAnObserver) {
  for (uint64_t seed : sim_seeds(10)) {
    SCOPED_TRACE(replay_command(seed));
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    cfg.observers = 3;
    // Voters in zones a, b, c; observers: 3 in zone c but --voter never,
    // 4 in zone a, 5 in zone c.
    cfg.zones = {"a", "b", "c", "c", "a", "c"};
    cfg.voter_never = {3};
    cfg.dead_voter_grace = 5s;
    cfg.stable_for = 3s;
    ClusterHarness h(cfg);
    h.start_writers();
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    h.crash(2);  // zone c's voter, for good
    ASSERT_TRUE(h.sim().run_for(30s).is_ok()) << h.violation().to_string();
    std::string log = "autopilot:";
    for (const std::string& why : h.autopilot_log()) log += "\n  " + why;
    const raft::ConfState conf = h.leader_conf();
    ASSERT_EQ(conf.voters.size(), 3u) << log;
    EXPECT_FALSE(conf.contains(ClusterHarness::id_of(2))) << "the dead voter is removed\n" << log;
    EXPECT_TRUE(conf.is_voter(ClusterHarness::id_of(5))) << "zone c's observer replaces it\n"
                                                         << log;
    EXPECT_FALSE(conf.contains(ClusterHarness::id_of(3))) << "never a --voter never agent\n" << log;
    // The node registry, on every agent up (observers through the log):
    // all six agents, the dead one not alive.
    for (NodeIndex i = 0; i < h.agents(); ++i) {
      if (i == 2) continue;
      const std::map<raft::NodeId, bool> reg = h.registry(i);
      EXPECT_EQ(reg.size(), 6u) << "agent " << i;
      EXPECT_EQ(reg, h.registry(0)) << "agent " << i;
      auto dead = reg.find(ClusterHarness::id_of(2));
      ASSERT_NE(dead, reg.end()) << "agent " << i;
      EXPECT_FALSE(dead->second) << "agent " << i << " still lists agent 2 alive";
    }
    // The replaced voter returns with its log.
    h.restart(2);
    ASSERT_TRUE(h.sim().run_for(20s).is_ok()) << h.violation().to_string();
    EXPECT_EQ(h.stepped_out(), 1u);
    EXPECT_FALSE(h.has_log(2)) << "it follows as an observer";
    h.stop_writers();
    ASSERT_TRUE(h.sim().run_for(3s).is_ok()) << h.violation().to_string();
    EXPECT_TRUE(h.converged()) << "it has the cluster's whole state";
    expect_linearizable(h);
  }
}

// One seed, one run: the whole multi-agent simulation (hosts, followed
// log, forwarding, autopilot, faults) replays event for event.
TEST(ClusterSim, TheSameSeedReplaysTheSameRun) {
  auto run = [](uint64_t seed) {
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.network.loss = 0.01;
    cfg.dead_voter_grace = 3s;
    ClusterHarness h(cfg);
    h.start_writers();
    h.sim().at(time_at(2s), [&h](ClusterSimulator&) {
      if (auto l = h.leader()) h.crash(*l);
    });
    EXPECT_TRUE(h.sim().run_for(15s).is_ok()) << h.violation().to_string();
    return std::make_pair(h.sim().trace_hash(), h.counters());
  };
  const auto a = run(7);
  const auto b = run(7);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, run(8).first);
}

}  // namespace
}  // namespace shoal::sim::cluster_sim
