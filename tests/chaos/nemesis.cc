// The nemesis's faults, one at a time.
#include "tests/chaos/nemesis.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "tests/chaos/interrupt.h"
#include "tests/chaos/workload.h"

namespace shoal::chaos {

namespace {

using namespace std::chrono_literals;

constexpr auto kWholeAgain = 20s;
constexpr auto kPowerCutExit = 5s;

std::string seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / kNsPerSecond);
  return buf;
}

FaultRecord fault(std::string kind, std::vector<std::string> targets, std::string leader,
                  bool targeted, std::string detail = "") {
  FaultRecord f;
  f.kind = std::move(kind);
  f.targets = std::move(targets);
  f.leader = std::move(leader);
  f.targeted = targeted;
  f.detail = std::move(detail);
  return f;
}

}  // namespace

Nemesis::Nemesis(const ChaosOptions& options, Agents& agents, Firewall& firewall,
                 const RunClock& clock, FaultLog& log)
    : options_(options),
      agents_(agents),
      firewall_(firewall),
      clock_(clock),
      log_(log),
      rng_(mix_seed(options.seed, 2000)) {}

void Nemesis::check_crashes() {
  for (const auto& [i, st] : agents_.unexpected_exits()) {
    const std::string what = agents_.name(i) + " exited on its own (" + st.describe() + ") at " +
                             seconds(clock_.now_ns()) + " s";
    crashes_.push_back(what);
    std::cerr << "chaos warning: " << what << "; its stderr ends:\n" << agents_.err_tail(i);
    log_.note(clock_.now_ns(), {agents_.name(i)}, "exited on its own (" + st.describe() + ")");
    agents_.restart(i);
  }
}

void Nemesis::hold(int lo_ms, int hi_ms, int64_t until_ns) {
  const int64_t ms = std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng_);
  const int64_t end = std::min(clock_.now_ns() + ms * kNsPerMilli, until_ns);
  while (!interrupted() && clock_.now_ns() < end) {
    sleep_for(std::chrono::milliseconds(
        std::min<int64_t>(50, std::max<int64_t>(1, (end - clock_.now_ns()) / kNsPerMilli))));
  }
}

std::string Nemesis::leader_name(int leader) const {
  return leader >= 0 ? agents_.name(leader) : "";
}

int Nemesis::pick_target(int leader) {
  if (leader >= 0 && std::bernoulli_distribution(0.5)(rng_)) return leader;
  return std::uniform_int_distribution<int>(0, agents_.size() - 1)(rng_);
}

void Nemesis::begin(FaultRecord& f) {
  f.start = clock_.now_ns();
  log_.start(f);
}

void Nemesis::end(FaultRecord& f) {
  f.heal = clock_.now_ns();
  log_.heal(f);
  faults_.push_back(f);
}

void Nemesis::run(int64_t until_ns) {
  while (!interrupted()) {
    // Quiet spell, watching for agents that die on their own.
    const int64_t quiet_ms = std::uniform_int_distribution<int>(2000, 4000)(rng_);
    const int64_t quiet_end = std::min(clock_.now_ns() + quiet_ms * kNsPerMilli, until_ns);
    while (!interrupted() && clock_.now_ns() < quiet_end) {
      check_crashes();
      sleep_for(50ms);
    }
    if (interrupted() || clock_.now_ns() >= until_ns) break;

    const std::string kind =
        options_.faults[std::uniform_int_distribution<size_t>(0, options_.faults.size() - 1)(rng_)];
    const int leader = agents_.index_of(agents_.leader_name());
    if (kind == "kill") {
      kill(leader, until_ns);
    } else if (kind == "pause") {
      pause(leader, until_ns);
    } else if (kind == "partition") {
      partition(leader, until_ns);
    } else if (kind == "restart-all") {
      restart_all(leader, until_ns);
    } else if (kind == "power-cut") {
      power_cut(leader, until_ns, /*all=*/false);
    } else if (kind == "power-cut-all") {
      power_cut(leader, until_ns, /*all=*/true);
    }
    check_crashes();
    if (!interrupted() && !agents_.wait_whole(kWholeAgain)) {
      log_.note(clock_.now_ns(), {},
                "not every agent reported a leader within 20 s after the heal");
      std::cerr << "chaos warning: not every agent reported a leader within 20 s after the " << kind
                << " healed at " << seconds(clock_.now_ns()) << " s\n";
    }
  }
}

void Nemesis::heal_all() {
  firewall_.heal();
  for (int i = 0; i < agents_.size(); ++i) {
    if (agents_.paused(i)) agents_.resume(i);
  }
  check_crashes();
  for (int i = 0; i < agents_.size(); ++i) {
    if (!agents_.running(i)) agents_.restart(i);
  }
}

void Nemesis::kill(int leader, int64_t until_ns) {
  const int t = pick_target(leader);
  FaultRecord f = fault("kill", {agents_.name(t)}, leader_name(leader), t == leader);
  if (!agents_.running(t)) return;  // nothing to kill (it is restarted by check_crashes)
  begin(f);
  agents_.kill9(t);
  hold(1000, 3000, until_ns);
  agents_.restart(t);
  end(f);
}

void Nemesis::pause(int leader, int64_t until_ns) {
  const int t = pick_target(leader);
  FaultRecord f = fault("pause", {agents_.name(t)}, leader_name(leader), t == leader);
  if (!agents_.running(t)) return;
  begin(f);
  agents_.pause(t);
  hold(2000, 5000, until_ns);
  agents_.resume(t);
  end(f);
}

void Nemesis::partition(int leader, int64_t until_ns) {
  std::vector<int> order(static_cast<size_t>(agents_.size()));
  for (int i = 0; i < agents_.size(); ++i) order[static_cast<size_t>(i)] = i;
  std::vector<int> side_a;
  bool targeted = false;
  if (agents_.size() == 5 && std::bernoulli_distribution(0.5)(rng_)) {
    std::shuffle(order.begin(), order.end(), rng_);
    side_a = {order[0], order[1]};
    targeted = true;
  } else {
    const int t =
        leader >= 0 ? leader : std::uniform_int_distribution<int>(0, agents_.size() - 1)(rng_);
    side_a = {t};
    targeted = t == leader;
  }
  std::vector<std::string> a, b, a_names, b_names;
  for (int i = 0; i < agents_.size(); ++i) {
    const bool in_a = std::find(side_a.begin(), side_a.end(), i) != side_a.end();
    (in_a ? a : b).push_back(agents_.ip(i));
    (in_a ? a_names : b_names).push_back(agents_.name(i));
  }
  FaultRecord f = fault("partition", a_names, leader_name(leader), targeted,
                        join_list(a_names) + "|" + join_list(b_names));
  begin(f);
  if (!firewall_.cut(a, b)) {
    log_.note(clock_.now_ns(), a_names, "iptables failed to install some partition rules");
    std::cerr << "chaos warning: iptables failed to install some partition rules\n";
  }
  hold(3000, 8000, until_ns);
  if (!firewall_.heal()) std::cerr << "chaos warning: iptables failed to remove the rules\n";
  end(f);
}

void Nemesis::restart_all(int leader, int64_t until_ns) {
  FaultRecord f = fault("restart-all", {}, leader_name(leader), false);
  for (int i = 0; i < agents_.size(); ++i) f.targets.push_back(agents_.name(i));
  begin(f);
  for (int i = 0; i < agents_.size(); ++i) agents_.kill9(i);
  hold(1000, 2000, until_ns);
  for (int i = 0; i < agents_.size(); ++i) agents_.restart(i);
  end(f);
}

void Nemesis::power_cut(int leader, int64_t until_ns, bool all) {
  std::vector<int> targets;
  if (all) {
    for (int i = 0; i < agents_.size(); ++i) targets.push_back(i);
  } else {
    targets.push_back(pick_target(leader));
  }
  FaultRecord f = fault(all ? "power-cut-all" : "power-cut", {}, leader_name(leader), false,
                        all ? "all" : "one");
  for (int t : targets) f.targets.push_back(agents_.name(t));
  begin(f);
  for (int t : targets) agents_.signal(t, SIGUSR2);
  for (int t : targets) {
    const ExitInfo st = agents_.wait_exit_or_kill(t, kPowerCutExit);
    if (st.signal == SIGKILL) {
      log_.note(clock_.now_ns(), {agents_.name(t)},
                "did not exit within 5 s of SIGUSR2; killed (is SHOAL_TEST_FAULTS=power-cut "
                "supported by this build?)");
    }
  }
  if (all) {
    hold(1000, 2000, until_ns);
  } else {
    hold(1000, 3000, until_ns);
  }
  for (int t : targets) agents_.restart(t);
  end(f);
}

}  // namespace shoal::chaos
