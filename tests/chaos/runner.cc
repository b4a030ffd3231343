// The chaos run's phases and its verdict.
#include "tests/chaos/runner.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "tests/chaos/agents.h"
#include "tests/chaos/checks.h"
#include "tests/chaos/fault_log.h"
#include "tests/chaos/firewall.h"
#include "tests/chaos/history.h"
#include "tests/chaos/interrupt.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/run_clock.h"
#include "tests/chaos/workload.h"

namespace shoal::chaos {

namespace {

using namespace std::chrono_literals;

constexpr auto kFormTimeout = 60s;
constexpr auto kLeaderTimeout = 60s;
constexpr auto kFinalReadTimeout = 60s;
constexpr auto kStopTimeout = 10s;

std::string seconds_since(std::chrono::steady_clock::time_point t0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return buf;
}

// Prints the failure trailer: how to replay and where the run is.
void print_replay(const ChaosOptions& o, std::ostream& out) {
  out << "replay: " << replay_command(o) << "\n";
  out << "run dir: " << o.out.string() << "\n";
}

int fail_early(const ChaosOptions& o, const std::string& why) {
  std::cout << "chaos: FAILED: " << why << "\n";
  std::ofstream(o.out / "summary.txt", std::ios::app) << "chaos: FAILED: " << why << "\n";
  print_replay(o, std::cout);
  return 1;
}

std::string op_counts(const std::vector<OpRecord>& ops) {
  size_t ok = 0, failed = 0, unknown = 0;
  for (const auto& op : ops) {
    if (op.ok) {
      ++ok;
    } else if (op.unknown) {
      ++unknown;
    } else {
      ++failed;
    }
  }
  return "chaos ops: ok=" + std::to_string(ok) + " failed=" + std::to_string(failed) +
         " unknown=" + std::to_string(unknown);
}

// The verdict, printed and written to summary.txt; the exit code.
int verdict(const ChaosOptions& o, const CheckReport& report,
            const std::vector<std::string>& warnings) {
  std::ostringstream text;
  text << report_text(report);
  for (const auto& w : warnings) text << "chaos warning: " << w << "\n";
  int rc = report.failed() ? 1 : 0;
  if (o.expect_violation) {
    if (report.safety_violation()) {
      text << "chaos control: violation detected as expected\n";
      rc = 0;
    } else {
      text << "chaos control: the suite did not detect the injected fault\n";
      rc = 1;
    }
  }
  if (rc != 0) print_replay(o, text);
  std::cout << text.str();
  std::ofstream(o.out / "summary.txt", std::ios::app) << text.str();
  return rc;
}

}  // namespace

int run_chaos(const ChaosOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) {
    std::cerr << "shoal-chaos: cannot create " << o.out << ": " << ec.message() << "\n";
    return 1;
  }
  install_interrupt_handlers();
  std::cout << "chaos: seed=" << o.seed << " nodes=" << o.nodes << " minutes=" << o.minutes
            << " faults=" << join_list(o.faults) << " clients=" << o.clients << " block=127.0."
            << o.block << ".0/24"
            << (o.agent_faults.empty() ? "" : " agent_faults=" + join_list(o.agent_faults))
            << "\nchaos: run dir " << o.out.string() << std::endl;

  RunClock clock;
  const auto t0 = std::chrono::steady_clock::now();
  Firewall firewall(o.out / "iptables.log");
  firewall.remove_leftovers();
  std::string why;
  if (o.has_fault("partition") && !firewall.install(&why)) return fail_early(o, why);

  Agents agents(o);
  if (!agents.make_key(&why)) return fail_early(o, why);
  agents.start_all();
  if (!agents.wait_formed(kFormTimeout, &why)) {
    agents.stop_all(kStopTimeout);
    return fail_early(o, "cluster never formed: " + why);
  }
  std::cout << "chaos: cluster formed in " << seconds_since(t0) << " s, leader "
            << agents.leader_name() << std::endl;

  HistoryLog history(o.out / "history.jsonl");
  FaultLog fault_log(o.out / "nemesis.log");
  if (!history.is_open())
    return fail_early(o, "cannot write " + (o.out / "history.jsonl").string());
  std::vector<std::pair<std::string, std::string>> endpoints;
  for (int i = 0; i < agents.size(); ++i) endpoints.emplace_back(agents.name(i), agents.ip(i));
  Workload workload(o.seed, o.clients, endpoints, history, clock);
  Nemesis nemesis(o, agents, firewall, clock, fault_log);

  workload.start();
  const auto run_ns = static_cast<int64_t>(o.minutes * 60.0 * kNsPerSecond);
  nemesis.run(clock.now_ns() + run_ns);
  nemesis.heal_all();
  workload.stop();
  std::cout << "chaos: faults over after " << seconds_since(t0) << " s; " << nemesis.faults().size()
            << " faults" << std::endl;

  std::vector<std::string> warnings = nemesis.crashes();
  if (interrupted()) {
    agents.stop_all(kStopTimeout);
    firewall.uninstall();
    std::cout << "chaos: interrupted; nothing checked\n";
    print_replay(o, std::cout);
    return 1;
  }
  std::string leader;
  const auto leader_deadline = std::chrono::steady_clock::now() + kLeaderTimeout;
  while ((leader = agents.leader_name()).empty() &&
         std::chrono::steady_clock::now() < leader_deadline && sleep_for(200ms)) {
  }
  if (leader.empty()) warnings.push_back("no leader within 60 s after the faults ended");
  // Without a leader every read fails; a few seconds show it.
  const auto read_for = leader.empty() ? std::chrono::milliseconds(5s) : kFinalReadTimeout;
  if (!workload.final_reads(read_for, &why)) warnings.push_back(why);
  for (const auto& [i, st] : agents.unexpected_exits()) {
    warnings.push_back(agents.name(i) + " exited on its own (" + st.describe() + ") by the end");
  }
  agents.stop_all(kStopTimeout);
  firewall.uninstall();

  const auto ops = history.ops();
  std::cout << op_counts(ops) << "; checking " << ops.size() << " ops on " << workload.keys().size()
            << " keys" << std::endl;
  const CheckReport report = check_run(ops, nemesis.faults(), o.faults, o.max_unavailable_s);
  return verdict(o, report, warnings);
}

namespace {

// A history cut short (the tool died) lacks the ops that were in flight, so
// values they wrote may be read without a writer in the history. Each such
// value gets a stand-in: an unknown put invoked at time 0, which may take
// effect at any time or never (it can hide, never invent, a violation).
size_t add_writers_cut_off(std::vector<OpRecord>* ops) {
  std::set<std::pair<std::string, std::string>> written;
  uint64_t max_client = 0;
  for (const auto& op : *ops) {
    if (op.is_write() && op.value) written.emplace(op.key, *op.value);
    max_client = std::max(max_client, op.client);
  }
  std::vector<OpRecord> stand_ins;
  for (const auto& op : *ops) {
    if (op.kind != OpRecord::Kind::kGet || !op.ok || !op.read) continue;
    if (!written.emplace(op.key, *op.read).second) continue;
    OpRecord w;
    w.client = ++max_client;
    w.kind = OpRecord::Kind::kPut;
    w.key = op.key;
    w.value = op.read;
    w.unknown = true;
    w.status = "stand-in for a write in flight when the run stopped";
    stand_ins.push_back(std::move(w));
  }
  ops->insert(ops->end(), stand_ins.begin(), stand_ins.end());
  return stand_ins.size();
}

}  // namespace

int check_only(const ChaosOptions& o) {
  const std::filesystem::path dir = *o.check_only;
  size_t bad = 0;
  auto ops = load_history(dir / "history.jsonl", &bad);
  if (ops.empty()) {
    std::cerr << "shoal-chaos: no operations in " << (dir / "history.jsonl").string() << "\n";
    return 1;
  }
  const auto faults = load_faults(dir / "nemesis.log");
  std::cout << op_counts(ops) << "; " << faults.size() << " faults";
  if (bad > 0) std::cout << "; " << bad << " malformed lines skipped";
  std::cout << std::endl;
  if (std::none_of(ops.begin(), ops.end(), [](const OpRecord& op) { return op.final_read; })) {
    const size_t n = add_writers_cut_off(&ops);
    std::cout << "chaos: the history has no final reads (the run did not finish): " << n
              << " values read without a recorded writer get an unknown stand-in write; keys "
                 "without a final read cannot be checked for lost writes"
              << std::endl;
  }
  const CheckReport report = check_run(ops, faults, o.faults, o.max_unavailable_s);
  std::cout << report_text(report);
  return report.failed() ? 1 : 0;
}

}  // namespace shoal::chaos
