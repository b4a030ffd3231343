// shoal-bench sim --nodes N --seconds S [--seed X]
//
// Simulator throughput. N nodes run a heartbeat protocol for S simulated
// seconds: once a second (local time, random phase) each node pings one peer
// chosen by its own Rng, and the peer answers with a pong. The invariant hook
// is on and O(1) per event, as in real simulation tests. Prints
//   sim nodes=N sim_seconds=S wall_s=X events_per_s=Y events=E messages=M seed=X trace=H
// Target (issue): 1,000 nodes x 10,000 s in under 10 s of wall time.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "tests/bench/bench.h"
#include "tests/sim/simulator.h"

namespace shoal::bench {
namespace {

// A heartbeat message: small and trivially copyable, so events carry it
// inline and the run allocates nothing per message.
struct Beat {
  enum Kind : uint8_t { kPing, kPong };
  uint32_t seq = 0;
  Kind kind = kPing;
};

// Per-node counters; owned by the run, so they outlive process objects.
struct Counters {
  uint32_t pings_sent = 0;
  uint32_t pings_received = 0;
  uint32_t pongs_received = 0;
};

struct Totals {
  uint64_t pings_received = 0;
  uint64_t pongs_received = 0;
  uint64_t bad_pongs = 0;  // a pong for a ping this node never sent
};

class Heartbeat final : public sim::Process<Beat> {
 public:
  Heartbeat(Counters* counters, Totals* totals) : c_(counters), totals_(totals) {}

  void start(sim::Context<Beat>&) override {}

  void tick(sim::Context<Beat>& ctx) override {
    const uint32_t n = ctx.node_count();
    auto peer = static_cast<sim::NodeIndex>(ctx.rng().uniform(n - 1));
    if (peer >= ctx.self()) ++peer;
    ctx.send(peer, Beat{++c_->pings_sent, Beat::kPing});
  }

  void receive(sim::Context<Beat>& ctx, sim::NodeIndex from, const Beat& msg) override {
    if (msg.kind == Beat::kPing) {
      ++c_->pings_received;
      ++totals_->pings_received;
      ctx.send(from, Beat{msg.seq, Beat::kPong});
      return;
    }
    ++c_->pongs_received;
    ++totals_->pongs_received;
    if (msg.seq == 0 || msg.seq > c_->pings_sent) ++totals_->bad_pongs;
  }

 private:
  Counters* c_;
  Totals* totals_;
};

struct SimFlags {
  uint32_t nodes = 1000;
  uint64_t seconds = 10000;
  uint64_t seed = 1;
};

int run_sim(const SimFlags& flags) {
  using Sim = sim::Simulator<Beat>;
  std::vector<Counters> counters(flags.nodes);
  Totals totals;
  sim::SimConfig cfg;
  cfg.seed = flags.seed;
  cfg.nodes = flags.nodes;
  cfg.tick_interval = 1s;
  Sim s(cfg, [&](sim::NodeIndex i) { return std::make_unique<Heartbeat>(&counters[i], &totals); });

  // O(1): the node this event touched, the global ping/pong balance and the
  // network's packet conservation.
  s.set_invariant([&](const Sim& sm) -> Status {
    const Counters& c = counters[sm.current_event().node];
    if (c.pongs_received > c.pings_sent) return Status::internal("more pongs than pings sent");
    if (totals.pongs_received > totals.pings_received) {
      return Status::internal("more pongs received than pings answered");
    }
    if (totals.bad_pongs != 0) return Status::internal("pong for a ping never sent");
    return sm.check_conservation();
  });

  const auto wall_start = std::chrono::steady_clock::now();
  const Status st = s.run_until(time_at(std::chrono::seconds(flags.seconds)));
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start;
  if (!st.is_ok()) {
    std::fprintf(stderr, "shoal-bench sim: %s\n", st.to_string().c_str());
    return 1;
  }
  const sim::SimStats& stats = s.stats();
  char trace[24];
  std::snprintf(trace, sizeof trace, "%016llx", static_cast<unsigned long long>(s.trace_hash()));
  ResultLine("sim")
      .add("nodes", flags.nodes)
      .add("sim_seconds", flags.seconds)
      .add("wall_s", wall.count())
      .add("events_per_s", static_cast<uint64_t>(static_cast<double>(stats.events) / wall.count()))
      .add("events", stats.events)
      .add("messages", stats.sent)
      .add("seed", flags.seed)
      .add("trace", trace)
      .print();
  return 0;
}

}  // namespace

Runner add_sim(CLI::App& cmd) {
  auto flags = std::make_shared<SimFlags>();
  cmd.add_option("--nodes", flags->nodes, "simulated nodes")
      ->check(CLI::Range(2u, 10'000'000u))
      ->capture_default_str();
  cmd.add_option("--seconds", flags->seconds, "simulated seconds")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  cmd.add_option("--seed", flags->seed, "the run's seed")->capture_default_str();
  return [flags] { return run_sim(*flags); };
}

}  // namespace shoal::bench
