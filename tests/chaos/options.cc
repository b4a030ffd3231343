// Parsing and validating shoal-chaos's flags (CLI11), and the replay command.
#include "tests/chaos/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#ifndef SHOAL_BINARY
#define SHOAL_BINARY "shoal"
#endif

namespace shoal::chaos {

namespace {

constexpr int kMinClients = 8;
// Blocks 127.0.0.x (the host's own services) and 127.0.2.x-127.0.25.x (the
// integration tests) are off limits; 127.0.1.x is often the host name.
constexpr int kFirstFreeBlock = 26;

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

bool ChaosOptions::has_fault(const std::string& kind) const {
  return std::find(faults.begin(), faults.end(), kind) != faults.end();
}

std::string ChaosOptions::ip(int i) const {
  return "127.0." + std::to_string(block) + "." + std::to_string(i);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

std::variant<ChaosOptions, int> parse_options(int argc, char** argv) {
  ChaosOptions o;
  std::string faults = "kill,pause,partition,restart-all";
  std::string agent_faults;
  std::string out;
  std::string check_only;
  std::string shoal = SHOAL_BINARY;

  CLI::App app{
      "Chaos suite for real agents: a Shoal cluster on 127.0.<block>.N, concurrent KV "
      "clients, one fault at a time, then linearizability, lost-write and availability checks",
      "shoal-chaos"};
  app.add_option("--nodes", o.nodes, "Agents: 3 (all voters) or 5 (3 voters, 2 observers)")
      ->check(CLI::IsMember({3, 5}));
  app.add_option("--minutes", o.minutes, "How long the nemesis and clients run (fractions allowed)")
      ->check(CLI::Range(0.05, 600.0));
  auto* seed = app.add_option("--seed", o.seed, "Seed of every random choice (default: the clock)");
  app.add_option("--faults", faults,
                 "Comma list of kill, pause, partition, restart-all, power-cut, power-cut-all")
      ->capture_default_str();
  app.add_option("--clients", o.clients, "Concurrent client threads (at least 8)")
      ->check(CLI::Range(kMinClients, 256))
      ->capture_default_str();
  app.add_option("--block", o.block, "Agents bind 127.0.<block>.N")
      ->check(CLI::Range(kFirstFreeBlock, 254))
      ->capture_default_str();
  app.add_option("--out", out, "Run dir, kept afterwards (default /tmp/shoal-chaos-<seed>-<time>)");
  app.add_option(
      "--agent-faults", agent_faults,
      "Comma list put in every agent's SHOAL_TEST_FAULTS (needs a -DSHOAL_TEST_FAULTS=ON "
      "build), e.g. ack-before-commit, skip-fsync");
  app.add_flag(
      "--expect-violation", o.expect_violation,
      "Negative control: pass only if a lost write or a linearizability violation is found");
  app.add_option("--max-unavailable-s", o.max_unavailable_s,
                 "Longest allowed time without a successful write around a leader fault")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--shoal", shoal, "The shoal binary")->capture_default_str();
  app.add_flag("--self-test", o.self_test,
               "Feed hand-made bad histories through the checks and expect them to fail");
  app.add_option("--check-only", check_only,
                 "Re-run the checks on an existing run dir (history.jsonl, nemesis.log)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  o.faults.clear();
  const auto wanted = split_list(faults);
  for (const auto& w : wanted) {
    if (std::find(std::begin(kFaultKinds), std::end(kFaultKinds), w) == std::end(kFaultKinds)) {
      std::cerr << "shoal-chaos: --faults: unknown fault \"" << w
                << "\" (kill, pause, partition, restart-all, power-cut, power-cut-all)\n";
      return 2;
    }
  }
  for (const char* k : kFaultKinds) {
    if (std::find(wanted.begin(), wanted.end(), k) != wanted.end()) o.faults.emplace_back(k);
  }
  if (o.faults.empty() && !o.self_test && check_only.empty()) {
    std::cerr << "shoal-chaos: --faults: name at least one fault\n";
    return 2;
  }
  o.agent_faults = split_list(agent_faults);
  o.seed_given = seed->count() > 0;
  if (!o.seed_given) {
    o.seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count() &
                                   0xffffffffffffULL);
  }
  if (!out.empty()) {
    o.out = out;
  } else {
    const auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    o.out = "/tmp/shoal-chaos-" + std::to_string(o.seed) + "-" + std::to_string(unix_s);
  }
  if (!check_only.empty()) o.check_only = check_only;
  o.shoal = shoal;
  return o;
}

std::string replay_command(const ChaosOptions& o) {
  std::string cmd = "tests/chaos/run.sh --nodes " + std::to_string(o.nodes) + " --minutes " +
                    format_number(o.minutes) + " --seed " + std::to_string(o.seed) + " --faults " +
                    join_list(o.faults) + " --clients " + std::to_string(o.clients) + " --block " +
                    std::to_string(o.block);
  if (!o.agent_faults.empty()) cmd += " --agent-faults " + join_list(o.agent_faults);
  if (o.expect_violation) cmd += " --expect-violation";
  if (o.max_unavailable_s != 3.0)
    cmd += " --max-unavailable-s " + format_number(o.max_unavailable_s);
  if (o.shoal != SHOAL_BINARY) cmd += " --shoal " + o.shoal.string();
  return cmd;
}

}  // namespace shoal::chaos
