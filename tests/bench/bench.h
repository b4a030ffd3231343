// shoal-bench: one driver for every Shoal benchmark.
//
// Each benchmark is a subcommand (`shoal-bench sim ...`, later `gossip`,
// `raft`, `kv`, ...) living in its own bench_<name>.cc. A subcommand
// registers its flags on the CLI11 App it is given and returns the function
// that runs it; main.cc lists every subcommand in one table. A run prints
// exactly one result line on stdout,
//   <name> key=value key=value ...
// so scripts and docs/benchmarks can collect results with a simple split.
// Benchmarks are not timed tests: CI runs each one once in a small smoke
// configuration to see that it still works.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace shoal::bench {

// Runs the benchmark; returns the process exit code (0 ok, 1 failed).
using Runner = std::function<int()>;

struct Subcommand {
  const char* name;
  const char* description;
  // Adds the subcommand's flags to `cmd` (bound to state the Runner owns).
  Runner (*add)(CLI::App& cmd);
};

// One entry point per bench_<name>.cc.
Runner add_sim(CLI::App& cmd);
Runner add_gossip(CLI::App& cmd);
Runner add_raft(CLI::App& cmd);
Runner add_raft_failover(CLI::App& cmd);
Runner add_observer_lag(CLI::App& cmd);
Runner add_cluster_failover(CLI::App& cmd);
Runner add_linearizability(CLI::App& cmd);

// The p-quantile (0..1) of `v`, nearest rank; -1 when `v` is empty.
double percentile(std::vector<double> v, double p);

// Builds the one-line result: ResultLine("sim").add("nodes", 1000).print().
class ResultLine {
 public:
  explicit ResultLine(std::string_view name) : line_(name) {}
  ResultLine& add(std::string_view key, std::string_view value);
  ResultLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  ResultLine& add(std::string_view key, uint64_t value);
  ResultLine& add(std::string_view key, int64_t value);
  ResultLine& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  ResultLine& add(std::string_view key, uint32_t value) {
    return add(key, static_cast<uint64_t>(value));
  }
  // Fixed-point with `decimals` digits after the point.
  ResultLine& add(std::string_view key, double value, int decimals = 3);
  const std::string& str() const { return line_; }
  // Writes the line and a newline to stdout, and flushes.
  void print() const;

 private:
  std::string line_;
};

}  // namespace shoal::bench
