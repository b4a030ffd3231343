// shoal-bench cluster-failover --seeds N [--voters V] [--observers O]
//
// The multi-agent simulator (tests/sim/cluster_harness.h: voters running the
// production RaftHost, observers following the log with the agent's
// FollowClient, every agent forwarding writes with its ForwardRouter). Per
// seed: V voters and O observers, each agent's own writer writing through
// it; between 3 and 4 s the leader is killed (kill -9: its connections
// close, gossip sees it dead only after 4-8 s). For every surviving agent,
// the time from the kill to the first write it took after the kill that
// succeeded; how long the new leader's election took, and how long after
// it each agent's writes resumed; and how long after the first voter
// applied an entry each observer applied it. Prints
//   cluster_failover seeds=N voters_p50_s= voters_p99_s= observers_p50_s=
//   observers_p99_s= max_s= elected_p99_s= after_election_p99_s=
//   after_election_max_s= observer_lag_p99_ms= not_resumed=
// and fails when a write was not linearizable or some agent did not resume.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "tests/bench/bench.h"
#include "tests/sim/cluster_harness.h"

namespace shoal::bench {
namespace {

struct ClusterFailoverFlags {
  uint64_t seeds = 100;
  uint64_t first_seed = 1;
  uint32_t voters = 3;
  uint32_t observers = 3;
};

int run_cluster_failover(const ClusterFailoverFlags& f) {
  using namespace std::chrono_literals;
  using sim::cluster_sim::ClusterHarness;
  using sim::cluster_sim::ClusterSimConfig;
  std::vector<double> voters, observers, lag, elected, after_election;
  uint64_t not_resumed = 0;
  for (uint64_t seed = f.first_seed; seed < f.first_seed + f.seeds; ++seed) {
    ClusterSimConfig cfg;
    cfg.seed = seed;
    cfg.voters = f.voters;
    cfg.observers = f.observers;
    cfg.detect_min = 4s;
    cfg.detect_max = 8s;
    ClusterHarness h(cfg);
    h.start_writers();
    Rng rng(seed);
    Status st = h.sim().run_for(3s + std::chrono::milliseconds(rng.uniform(1000)));
    auto l = h.leader();
    if (st.is_ok() && l) {
      h.crash(*l);
      h.mark();
      st = h.sim().run_for(8s);
    }
    if (!st.is_ok() || !l) {
      std::fprintf(stderr, "shoal-bench cluster-failover: seed %llu: %s\n",
                   static_cast<unsigned long long>(seed),
                   st.is_ok() ? "no leader after 3 s" : st.to_string().c_str());
      return 1;
    }
    const auto won = h.elected_after();
    if (won) elected.push_back(*won);
    for (sim::NodeIndex i = 0; i < h.agents(); ++i) {
      if (i == *l) continue;
      auto t = h.resumed_after(i);
      if (!t) {
        ++not_resumed;
        continue;
      }
      (h.is_voter(i) ? voters : observers).push_back(*t);
      if (won) after_election.push_back(*t - *won);
    }
    lag.insert(lag.end(), h.observer_lag().begin(), h.observer_lag().end());
    h.stop_writers();
    const sim::CheckResult r = sim::check_linearizable(h.history().ops());
    if (!r.linearizable) {
      std::fprintf(stderr, "shoal-bench cluster-failover: seed %llu: not linearizable: %s\n",
                   static_cast<unsigned long long>(seed), r.explanation.c_str());
      return 1;
    }
  }
  std::vector<double> all = voters;
  all.insert(all.end(), observers.begin(), observers.end());
  ResultLine("cluster_failover")
      .add("seeds", f.seeds)
      .add("voters_p50_s", percentile(voters, 0.50), 2)
      .add("voters_p99_s", percentile(voters, 0.99), 2)
      .add("observers_p50_s", percentile(observers, 0.50), 2)
      .add("observers_p99_s", percentile(observers, 0.99), 2)
      .add("max_s", percentile(all, 1.0), 2)
      .add("elected_p99_s", percentile(elected, 0.99), 2)
      .add("after_election_p99_s", percentile(after_election, 0.99), 2)
      .add("after_election_max_s", percentile(after_election, 1.0), 2)
      .add("observer_lag_p99_ms", percentile(lag, 0.99) * 1000, 1)
      .add("not_resumed", not_resumed)
      .print();
  return not_resumed == 0 ? 0 : 1;
}

}  // namespace

Runner add_cluster_failover(CLI::App& cmd) {
  auto f = std::make_shared<ClusterFailoverFlags>();
  cmd.add_option("--seeds", f->seeds, "simulated runs, one leader kill each")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}))
      ->capture_default_str();
  cmd.add_option("--first-seed", f->first_seed, "seed of the first run")->capture_default_str();
  cmd.add_option("--voters", f->voters, "voters (3 or 5 is usual)")
      ->check(CLI::Range(1u, 9u))
      ->capture_default_str();
  cmd.add_option("--observers", f->observers, "observers")
      ->check(CLI::Range(0u, 100u))
      ->capture_default_str();
  return [f] { return run_cluster_failover(*f); };
}

}  // namespace shoal::bench
