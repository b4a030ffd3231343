// shoal-bench gossip --nodes N --loss P --seconds S [--seed X] [--no-lifeguard]
//                    [--slow-node] [--crashes K] [--warm] [--join-spread D]
//
// SWIM + Lifeguard (gossip/) on the deterministic simulator, every packet
// through the real codec (tests/sim/gossip_harness.h). Phases:
//
//  1. Join. Cold (default): every node joins through node 0 at a random time
//     in [0, join-spread]. converge = time from a node's join() until it sees
//     all N nodes alive. --warm: every node but 10 starts knowing the cluster
//     (as after a push-pull with a node that knows everyone; a 10,000-node
//     join storm is 10^8 alive messages x 20 retransmits to simulate), and
//     10 late nodes join together at t = 10 s; converge is theirs, and
//     spread_p99_s says how long until every node saw a late joiner.
//  2. Steady state for S simulated seconds with loss P on every packet
//     (from the start) and, with --slow-node, node 1 handling every packet it
//     receives up to 1 s late (uniform, in order: ~10x the time a probe
//     round trip is given). K nodes crash one at a time, evenly spaced;
//     detect_all = time from a crash until every live node marks it dead.
//
// Prints one line:
//   gossip nodes=N loss=P converge_p50_s= converge_p99_s= detect_all_p50_s=
//   detect_all_p99_s= false_positives= bytes_per_node_s= ... (extras)
// false_positives counts every (node, healthy member) "dead" mark over the
// whole run, join included; in Lifeguard mode the run fails (exit 1) unless
// it is zero. The other counters cover the steady state: false_suspicions
// counts suspicions of healthy members raised by a node's own failed probe
// (the root causes; each then spreads to everyone as suspect events,
// counted in false_suspect_events), false_dead_declared the deaths of
// healthy members declared by a node's own suspicion timeout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "tests/bench/bench.h"
#include "tests/sim/gossip_harness.h"

namespace shoal::bench {
namespace {

using sim::NodeIndex;
using sim::gossip_sim::GossipHarness;
using sim::gossip_sim::HarnessConfig;
using sim::gossip_sim::Seen;

struct GossipFlags {
  uint32_t nodes = 1000;
  double loss = 0.0;
  uint64_t seconds = 600;
  uint64_t seed = 1;
  bool no_lifeguard = false;
  bool slow_node = false;
  uint32_t crashes = 3;
  bool warm = false;
  double join_spread_s = 1.0;
};

// Peak and current resident set size, from /proc (the benchmark is a host,
// not a core: it may read the system).
double proc_status_mb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::string(key).size())) / 1024.0;
  }
  return -1;
}

int run_gossip(const GossipFlags& f) {
  const auto wall_start = std::chrono::steady_clock::now();
  HarnessConfig cfg;
  cfg.seed = f.seed;
  cfg.nodes = f.nodes;
  cfg.gossip = gossip::Config::lan();
  cfg.gossip.lifeguard = !f.no_lifeguard;
  cfg.network.loss = f.loss;
  cfg.seeds = {0};
  cfg.join_spread =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(f.join_spread_s));
  constexpr uint32_t kLateJoiners = 10;
  if (f.warm) {
    cfg.warm = true;
    cfg.late_joiners = std::min(kLateJoiners, f.nodes - 1);
    // All at once: each late joiner must see the others too.
    cfg.late_join_start = 10s;
    cfg.late_join_gap = 0s;
  }
  GossipHarness h(cfg);
  auto& s = h.sim();
  const NodeIndex slow = 1;
  if (f.slow_node) s.set_receive_delay(slow, 1s);

  // ---- join ----
  const std::vector<NodeIndex> joiners = [&] {
    std::vector<NodeIndex> v;
    const uint32_t first = f.warm ? f.nodes - cfg.late_joiners : 0;
    for (NodeIndex i = first; i < f.nodes; ++i) v.push_back(i);
    return v;
  }();
  // Late joiners: when every node has seen each of them alive.
  std::vector<int64_t> seen_by(f.nodes, 0);
  std::vector<double> spread;
  h.on_event = [&](NodeIndex, const gossip::Event& e, TimePoint now) {
    if (!f.warm || (e.kind != gossip::Event::Kind::kJoin)) return;
    auto m = GossipHarness::index_of(e.member.id);
    if (!m || *m < f.nodes - cfg.late_joiners) return;
    if (++seen_by[*m] == static_cast<int64_t>(f.nodes) - 1) {
      spread.push_back(to_seconds(now - h.join_at(*m)));
    }
  };
  // Up to 420 s: long enough for a straggler to catch up at its second
  // periodic push-pull (every 180 s at 1,000 nodes, after the early one).
  const TimePoint join_deadline =
      (f.warm
           ? TimePoint(cfg.late_join_start + cfg.late_join_gap * static_cast<int64_t>(kLateJoiners))
           : TimePoint(cfg.join_spread)) +
      420s;
  Status st = Status::ok();
  for (TimePoint t = s.now() + 1s; t <= join_deadline; t += 1s) {
    st = s.run_until(t);
    if (!st.is_ok()) break;
    bool done = true;
    for (NodeIndex i : joiners) done = done && h.converged_at(i).has_value();
    if (done && (!f.warm || spread.size() == joiners.size())) break;
  }
  if (!st.is_ok()) {
    std::fprintf(stderr, "shoal-bench gossip: %s\n", st.to_string().c_str());
    return 1;
  }
  std::vector<double> converge;
  for (NodeIndex i : joiners) {
    if (auto c = h.converged_at(i)) converge.push_back(to_seconds(*c - h.join_at(i)));
  }
  const size_t unconverged = joiners.size() - converge.size();
  const double join_phase_s = to_seconds(s.now().time_since_epoch());
  const double rss_after_join = proc_status_mb("VmRSS:");

  // ---- steady state with crashes ----
  const gossip::Stats before = h.total_stats();
  const uint64_t stream_before = h.stream_bytes();
  const uint64_t fs_before = h.false_suspicions_raised();
  const uint64_t fse_before = h.false_suspicions();
  const uint64_t fdd_before = h.false_deaths_declared();
  const uint32_t by_slow_before = h.false_suspicions_by()[slow];
  const uint32_t of_slow_before = h.false_suspicions_of()[slow];
  const TimePoint steady_start = s.now();
  const Duration steady = std::chrono::seconds(f.seconds);
  std::vector<NodeIndex> victims;
  std::vector<TimePoint> crashed_at;
  std::vector<double> detect;
  std::vector<int64_t> dead_marks(f.nodes, 0);
  std::vector<bool> detected(f.nodes, false);
  uint32_t down = 0;
  h.on_event = [&](NodeIndex, const gossip::Event& e, TimePoint now) {
    if (e.kind != gossip::Event::Kind::kDead) return;
    auto m = GossipHarness::index_of(e.member.id);
    if (!m || s.is_up(*m) || detected[*m]) return;
    // Every live node marks it dead exactly once (a crashed node cannot
    // refute, so the mark sticks).
    if (++dead_marks[*m] == static_cast<int64_t>(f.nodes - down)) {
      detected[*m] = true;
      for (size_t k = 0; k < victims.size(); ++k) {
        if (victims[k] == *m) detect.push_back(to_seconds(now - crashed_at[k]));
      }
    }
  };
  // Victims: spread over the index space, never node 0 (the seed) or the
  // slow node.
  for (uint32_t k = 0; k < f.crashes && k + 2 < f.nodes; ++k) {
    const NodeIndex v =
        static_cast<NodeIndex>(2 + (static_cast<uint64_t>(k) * 7919) % (f.nodes - 2));
    if (std::find(victims.begin(), victims.end(), v) != victims.end()) continue;
    const TimePoint at = steady_start + steady * static_cast<int64_t>(k + 1) / (f.crashes + 1);
    victims.push_back(v);
    crashed_at.push_back(at);
    s.at(at, [&, v](sim::Simulator<sim::gossip_sim::Wire>&) {
      // Marks made while it was up (false ones) do not count.
      dead_marks[v] = 0;
      ++down;
      h.crash(v);
    });
  }
  st = s.run_until(steady_start + steady);
  if (!st.is_ok()) {
    std::fprintf(stderr, "shoal-bench gossip: %s\n", st.to_string().c_str());
    return 1;
  }
  const gossip::Stats after = h.total_stats();
  const double steady_s = to_seconds(steady);
  const double bytes_per_node_s =
      static_cast<double>(after.bytes_sent - before.bytes_sent) / f.nodes / steady_s;
  const double stream_bytes_per_node_s =
      static_cast<double>(h.stream_bytes() - stream_before) / f.nodes / steady_s;
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start;

  ResultLine line("gossip");
  line.add("nodes", f.nodes)
      .add("loss", f.loss, 2)
      .add("converge_p50_s", percentile(converge, 0.5), 2)
      .add("converge_p99_s", percentile(converge, 0.99), 2)
      .add("detect_all_p50_s", percentile(detect, 0.5), 2)
      .add("detect_all_p99_s", percentile(detect, 0.99), 2)
      .add("false_positives", h.false_deaths())
      .add("bytes_per_node_s", bytes_per_node_s, 0)
      .add("false_suspicions", h.false_suspicions_raised() - fs_before)
      .add("false_suspect_events", h.false_suspicions() - fse_before)
      .add("false_dead_declared", h.false_deaths_declared() - fdd_before)
      .add("stream_bytes_per_node_s", stream_bytes_per_node_s, 0)
      .add("lifeguard", f.no_lifeguard ? "off" : "on")
      .add("slow_node", f.slow_node ? "on" : "off");
  if (f.slow_node) {
    line.add("suspicions_by_slow", h.false_suspicions_by()[slow] - by_slow_before)
        .add("suspicions_of_slow", h.false_suspicions_of()[slow] - of_slow_before)
        .add("slow_health_score", h.core(slow) ? h.core(slow)->health_score() : -1);
  }
  if (f.warm) line.add("spread_p99_s", percentile(spread, 0.99), 2);
  line.add("crashes", static_cast<uint64_t>(victims.size()))
      .add("detected", static_cast<uint64_t>(detect.size()))
      .add("unconverged", static_cast<uint64_t>(unconverged))
      .add("join_phase_s", join_phase_s, 1)
      .add("sim_seconds", steady_s, 0)
      .add("refutations", after.refutations - before.refutations)
      .add("decode_errors", after.decode_errors)
      .add("rss_after_join_mb", rss_after_join, 0)
      .add("rss_peak_mb", proc_status_mb("VmHWM:"), 0)
      .add("wall_s", wall.count(), 1)
      .add("seed", f.seed)
      .print();
  // Plain SWIM is expected to declare healthy nodes dead now and then: it
  // is run for comparison, and only Lifeguard mode must have none.
  const bool false_dead_ok = f.no_lifeguard || h.false_deaths() == 0;
  return false_dead_ok && unconverged == 0 && detect.size() == victims.size() ? 0 : 1;
}

}  // namespace

Runner add_gossip(CLI::App& cmd) {
  auto f = std::make_shared<GossipFlags>();
  cmd.add_option("--nodes", f->nodes, "simulated nodes")
      ->check(CLI::Range(3u, 20'000u))
      ->capture_default_str();
  cmd.add_option("--loss", f->loss, "packet loss probability on every link")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd.add_option("--seconds", f->seconds, "simulated seconds of steady state after the join")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}))
      ->capture_default_str();
  cmd.add_option("--seed", f->seed, "the run's seed")->capture_default_str();
  cmd.add_flag(
      "--no-lifeguard", f->no_lifeguard,
      "plain SWIM: no health awareness, fixed suspicion timeout, no buddy system, no nacks");
  cmd.add_flag("--slow-node", f->slow_node, "node 1 handles received packets up to 1 s late");
  cmd.add_option("--crashes", f->crashes, "nodes crashed one at a time during the steady state")
      ->capture_default_str();
  cmd.add_flag("--warm", f->warm, "start from a converged cluster; 10 late nodes join");
  cmd.add_option("--join-spread", f->join_spread_s, "cold join: seconds over which nodes join")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  return [f] { return run_gossip(*f); };
}

}  // namespace shoal::bench
