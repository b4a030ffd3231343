// shoal-bench linearizability --ops N --keys K [--clients C] [--indeterminate P]
//                             [--seed X] [--runs R]
//
// The linearizability checker (tests/sim/linearizability.h) on the random
// histories its tests check (tests/sim/linearizability_gen.h): a sequential
// KV store's execution with N ops over K keys from C clients, a fraction P of
// the writes indeterminate. Each run times two checks of the same history:
// as generated (linearizable by construction), and with a stale read of the
// last key appended after everything else, which only a search that
// exhausts every state refutes. The times are the median of R runs. Prints
//   linearizability ops=N keys=K clients=C runs=R check_ms= states=
//     stale_check_ms= stale_states= indeterminate=P seed=X
// and fails (exit 1) when a verdict is wrong or the search gave up (the
// default budget: 50 million states, ~2 GB). Many ops on one key with
// indeterminate writes still pending can get there when refuting the stale
// read (--ops 5000 --keys 1 --seed 11 does): give one key --indeterminate 0.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/bench/bench.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/linearizability_gen.h"

namespace shoal::bench {
namespace {

struct LinearizabilityFlags {
  int ops = 10'000;
  int keys = 20;
  int clients = 8;
  double indeterminate = 0.02;
  uint64_t seed = 7;
  int runs = 5;
};

// Checks `h` once; the wall time in milliseconds.
double timed_check(const std::vector<sim::KvOp>& h, sim::CheckResult* out) {
  const auto start = std::chrono::steady_clock::now();
  *out = sim::check_linearizable(h);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int run_linearizability(const LinearizabilityFlags& f) {
  sim::GenOptions opt;
  opt.ops = f.ops;
  opt.keys = f.keys;
  opt.clients = f.clients;
  opt.indeterminate = f.indeterminate;
  const std::vector<sim::KvOp> history = sim::generate_history(f.seed, opt);
  std::vector<sim::KvOp> stale = history;
  const std::string last_key = "k" + std::to_string(f.keys - 1);
  if (!sim::append_stale_read(stale, last_key)) {
    std::fprintf(stderr, "shoal-bench linearizability: no acknowledged put to %s\n",
                 last_key.c_str());
    return 1;
  }

  std::vector<double> check_ms, stale_ms;
  sim::CheckResult ok, bad;
  for (int i = 0; i < f.runs; ++i) {
    check_ms.push_back(timed_check(history, &ok));
    if (!ok.linearizable || ok.gave_up) {
      std::fprintf(stderr, "shoal-bench linearizability: the generated history %s: %s\n",
                   ok.gave_up ? "exhausted the budget" : "is not linearizable",
                   ok.explanation.c_str());
      return 1;
    }
    const double ms = timed_check(stale, &bad);
    stale_ms.push_back(ms);
    if (bad.linearizable || bad.gave_up) {
      std::fprintf(stderr,
                   "shoal-bench linearizability: the stale read %s (%llu states, %.0f ms)\n",
                   bad.gave_up ? "exhausted the search budget" : "was not caught",
                   static_cast<unsigned long long>(bad.states_explored), ms);
      return 1;
    }
  }
  ResultLine("linearizability")
      .add("ops", f.ops)
      .add("keys", f.keys)
      .add("clients", f.clients)
      .add("runs", f.runs)
      .add("check_ms", percentile(check_ms, 0.5), 1)
      .add("states", ok.states_explored)
      .add("stale_check_ms", percentile(stale_ms, 0.5), 1)
      .add("stale_states", bad.states_explored)
      .add("indeterminate", f.indeterminate, 2)
      .add("seed", f.seed)
      .print();
  return 0;
}

}  // namespace

Runner add_linearizability(CLI::App& cmd) {
  auto flags = std::make_shared<LinearizabilityFlags>();
  cmd.add_option("--ops", flags->ops, "operations in the history")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  cmd.add_option("--keys", flags->keys, "keys the operations spread over")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd.add_option("--clients", flags->clients, "clients, each with one op at a time")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  cmd.add_option("--indeterminate", flags->indeterminate,
                 "fraction of ops whose outcome the client never learns")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd.add_option("--seed", flags->seed, "the history's seed")->capture_default_str();
  cmd.add_option("--runs", flags->runs, "timed runs; the result is their median")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  return [flags] { return run_linearizability(*flags); };
}

}  // namespace shoal::bench
