// shoal-bench <subcommand> [flags]: runs one benchmark and prints its result
// line (see bench.h). Bad usage -- an unknown subcommand or flag, a bad
// value -- is one line on stderr and exit code 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/bench/bench.h"

namespace {

using shoal::bench::Runner;
using shoal::bench::Subcommand;

// Every benchmark, in the order `shoal-bench --help` lists them.
constexpr Subcommand kSubcommands[] = {
    {"sim", "simulator throughput: N nodes exchanging heartbeats for S simulated seconds",
     &shoal::bench::add_sim},
    {"gossip", "SWIM + Lifeguard on the simulator: join, loss, a slow node, crashes",
     &shoal::bench::add_gossip},
    {"raft", "3 Raft hosts in one process, RocksDB with fsync, closed-loop clients at the leader",
     &shoal::bench::add_raft},
    {"raft-failover", "Raft on the simulator: leaderless time after the leader crashes, over seeds",
     &shoal::bench::add_raft_failover},
    {"cluster-failover",
     "agents on the simulator: writes through voters and observers after a leader kill",
     &shoal::bench::add_cluster_failover},
    {"observer-lag", "real agents: time from a write's commit to an observer applying it",
     &shoal::bench::add_observer_lag},
    {"linearizability",
     "the KV linearizability checker on random histories: a linearizable one and a stale read",
     &shoal::bench::add_linearizability},
};

std::string known_names() {
  std::string out;
  for (const Subcommand& s : kSubcommands) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Shoal benchmarks; each subcommand prints one result line", "shoal-bench"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Runner>> commands;
  for (const Subcommand& s : kSubcommands) {
    CLI::App* cmd = app.add_subcommand(s.name, s.description);
    commands.emplace_back(cmd, s.add(*cmd));
  }

  // CLI11 would report an unknown subcommand as an unexpected argument, and
  // a flag before the subcommand as a missing subcommand; say what it is.
  if (argc >= 2 && argv[1][0] == '-' && std::string_view(argv[1]) != "-h" &&
      std::string_view(argv[1]) != "--help") {
    std::fprintf(stderr, "shoal-bench: unknown flag '%s' (usage: shoal-bench <%s> [flags])\n",
                 argv[1], known_names().c_str());
    return 2;
  }
  if (argc >= 2 && argv[1][0] != '-') {
    bool known = false;
    for (const Subcommand& s : kSubcommands) known = known || std::string_view(argv[1]) == s.name;
    if (!known) {
      std::fprintf(stderr, "shoal-bench: unknown subcommand '%s' (known: %s)\n", argv[1],
                   known_names().c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help: usage on stdout
    std::fprintf(stderr, "shoal-bench: %s\n", e.what());
    return 2;
  }
  for (auto& [cmd, run] : commands) {
    if (cmd->parsed()) return run();
  }
  return 2;  // unreachable: require_subcommand(1)
}
