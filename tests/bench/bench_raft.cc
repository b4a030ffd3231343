// shoal-bench raft --nodes N --clients C --seconds S --value-bytes B
//                  [--warmup W] [--data-dir DIR]
//
// N in-process RaftHosts (node/consensus/raft_host.h), each with its own RocksDB under
// DIR/node-i (wiped first; real synced writes), joined by an in-memory
// transport that hands Message objects straight to the peer's deliver() (no
// codec, no sockets: this measures the host loop, the core and the disk).
// Once a leader is elected, C closed-loop clients each keep exactly one
// proposal of B bytes outstanding at the leader: propose, on the callback
// record the latency and propose again. After W seconds of warmup the
// measurement window runs S seconds (before the load, one linearizable read
// at every host checks the ReadIndex path). Prints one line:
//   raft nodes=N clients=C commits_per_s= p50_ms= p99_ms= ... (extras)
// fsyncs_per_s, entries_per_fsync and sync_save_ms are the leader's: how
// well group commit batches (one synced RocksDB write per Ready) and what one
// synced write costs. --no-sync (diagnosis only) skips the fsyncs, to see
// what the host loop and the core do when the disk is not the limit.
//
// shoal-bench raft-failover --seeds N
//
// The simulator (tests/sim/raft_harness.h: the production RaftHost on every
// node, on virtual time): per seed, 3 voters and 2 clients; at 5 s the
// leader crashes; at 15 s read how long the cluster had no leader. Prints
//   raft_failover seeds=N leaderless_p50_s= leaderless_p99_s= leaderless_max_s=
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "node/consensus/raft_host.h"
#include "tests/bench/bench.h"
#include "tests/sim/raft_harness.h"

namespace shoal::bench {
namespace {

using Clock = std::chrono::steady_clock;
using node::RaftHost;

// ---- raft: real hosts, real disks ----

struct RaftFlags {
  uint32_t nodes = 3;
  uint32_t clients = 64;
  double seconds = 10;
  double warmup = 1;
  uint32_t value_bytes = 256;
  std::string data_dir;
  bool no_sync = false;
};

raft::NodeId node_id(uint32_t i) { return raft::NodeId(0, i + 1); }

// Hands every message to the addressee's deliver(): one copy, no codec.
class MemTransport final : public node::Transport {
 public:
  explicit MemTransport(const std::vector<std::unique_ptr<RaftHost>>& hosts) : hosts_(hosts) {}
  void send(const raft::Message& m) override {
    const uint64_t i = m.to.lo() - 1;
    if (m.to.hi() == 0 && i < hosts_.size() && hosts_[i]) hosts_[i]->deliver(m);
  }

 private:
  const std::vector<std::unique_ptr<RaftHost>>& hosts_;
};

// The commands are opaque; the state machine only counts them.
class CountingMachine final : public node::StateMachine {
 public:
  void apply(const raft::Entry& e) override { bytes_ += e.data.size(); }

 private:
  uint64_t bytes_ = 0;
};

// One closed-loop client: exactly one proposal outstanding. Its callbacks
// are sequential (each proposal follows the previous one's callback), so
// its own fields need no lock.
struct Client {
  Clock::time_point started;
  std::vector<double> latencies_ms;  // completed inside the window
  uint64_t failed = 0;
};

enum Phase : int { kWarmup = 0, kMeasure = 1, kDone = 2 };

struct Workload {
  std::vector<std::unique_ptr<RaftHost>>* hosts = nullptr;
  std::vector<uint8_t> value;
  std::vector<Client> clients;
  std::atomic<int> phase{kWarmup};
  std::atomic<uint32_t> stalled{0};

  RaftHost* leader() const {
    for (auto& h : *hosts) {
      if (h && h->is_leader()) return h.get();
    }
    return nullptr;
  }

  void issue(uint32_t c, RaftHost* at) {
    Client& cl = clients[c];
    cl.started = Clock::now();
    at->propose(value, [this, c, at](Status st, raft::Index) {
      Client& cl = clients[c];
      const int ph = phase.load(std::memory_order_acquire);
      if (st.is_ok()) {
        if (ph == kMeasure) {
          cl.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - cl.started).count());
        }
      } else if (ph == kMeasure) {
        ++cl.failed;
      }
      if (ph == kDone) return;
      RaftHost* next = st.is_ok() ? at : leader();
      if (next == nullptr || (!st.is_ok() && next == at && !at->is_leader())) {
        stalled.fetch_add(1);  // no leader to go to: this client stops
        return;
      }
      issue(c, next);
    });
  }
};

Status wipe(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::io_error("remove " + dir.string() + ": " + ec.message());
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("create " + dir.string() + ": " + ec.message());
  return Status::ok();
}

int run_raft(const RaftFlags& f) {
  namespace fs = std::filesystem;
  bool temp_dir = false;
  fs::path root = f.data_dir;
  if (root.empty()) {
    root = fs::temp_directory_path() / ("shoal-bench-raft-" + std::to_string(::getpid()));
    temp_dir = true;
  }

  std::vector<std::unique_ptr<RaftHost>> hosts(f.nodes);
  MemTransport transport(hosts);
  std::vector<CountingMachine> machines(f.nodes);
  std::mutex mu;
  std::condition_variable cv;
  raft::ConfState conf;
  for (uint32_t i = 0; i < f.nodes; ++i) conf.voters.push_back(node_id(i));
  std::sort(conf.voters.begin(), conf.voters.end());
  for (uint32_t i = 0; i < f.nodes; ++i) {
    const fs::path dir = root / ("node-" + std::to_string(i));
    if (Status st = wipe(dir); !st.is_ok()) {
      std::fprintf(stderr, "shoal-bench raft: %s\n", st.to_string().c_str());
      return 1;
    }
    node::RaftHostOptions o;
    o.raft.id = node_id(i);
    o.data_dir = dir.string();
    o.bootstrap = conf;
    o.rng_seed = 0x5eed0000u + i;
    o.store.skip_sync = f.no_sync;
    o.on_role_change = [&](bool leader, uint64_t, const raft::NodeId&) {
      if (!leader) return;
      std::lock_guard lk(mu);
      cv.notify_all();
    };
    auto h = RaftHost::open(std::move(o), transport, machines[i]);
    if (!h) {
      std::fprintf(stderr, "shoal-bench raft: node %u: %s\n", i, h.status().to_string().c_str());
      return 1;
    }
    hosts[i] = std::move(*h);
  }
  for (auto& h : hosts) h->start();

  Workload w;
  w.hosts = &hosts;
  w.value.resize(f.value_bytes);
  for (size_t k = 0; k < w.value.size(); ++k) w.value[k] = static_cast<uint8_t>(k * 131 + 7);
  w.clients.resize(f.clients);

  auto stop_all = [&] {
    w.phase.store(kDone, std::memory_order_release);
    for (auto& h : hosts) h->stop();
    hosts.clear();  // every thread is joined: nothing delivers any more
    if (temp_dir) {
      std::error_code ec;
      fs::remove_all(root, ec);
    }
  };

  // ---- wait for a leader (the first election takes 1-2 s of ticks) ----
  RaftHost* leader = nullptr;
  {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return (leader = w.leader()) != nullptr; });
  }
  if (leader == nullptr) {
    std::fprintf(stderr, "shoal-bench raft: no leader within 30 s\n");
    stop_all();
    return 1;
  }

  // ---- one linearizable read at every host (followers forward theirs) ----
  uint32_t reads_ok = 0, reads_done = 0;
  for (auto& h : hosts) {
    h->read([&](Status st) {
      std::lock_guard lk(mu);
      ++reads_done;
      if (st.is_ok()) ++reads_ok;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return reads_done == f.nodes; });
  }

  // ---- load: warmup, then the measured window (timed, not synchronised) ----
  for (uint32_t c = 0; c < f.clients; ++c) w.issue(c, leader);
  std::this_thread::sleep_for(std::chrono::duration<double>(f.warmup));
  const RaftHost* measured = w.leader();
  if (measured == nullptr) measured = leader;
  const uint64_t saves0 = measured->stats().synced_saves.load();
  const uint64_t entries0 = measured->stats().synced_entries.load();
  const uint64_t readies0 = measured->stats().readies.load();
  const uint64_t save_ns0 = measured->stats().synced_save_ns.load();
  const auto t0 = Clock::now();
  w.phase.store(kMeasure, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  w.phase.store(kDone, std::memory_order_release);
  const double window_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t saves = measured->stats().synced_saves.load() - saves0;
  const uint64_t entries = measured->stats().synced_entries.load() - entries0;
  const uint64_t readies = measured->stats().readies.load() - readies0;
  const uint64_t save_ns = measured->stats().synced_save_ns.load() - save_ns0;
  const uint32_t stalled = w.stalled.load();
  stop_all();  // answers reads still pending (none, unless a read hung)
  const uint32_t reads = [&] {
    std::lock_guard lk(mu);
    return reads_ok;
  }();

  // Every callback ran on a now-joined host thread: the clients are ours.
  std::vector<double> lat;
  uint64_t failed = 0;
  for (const Client& cl : w.clients) {
    lat.insert(lat.end(), cl.latencies_ms.begin(), cl.latencies_ms.end());
    failed += cl.failed;
  }
  ResultLine line("raft");
  line.add("nodes", f.nodes)
      .add("clients", f.clients)
      .add("commits_per_s", static_cast<double>(lat.size()) / window_s, 0)
      .add("p50_ms", percentile(lat, 0.50), 2)
      .add("p99_ms", percentile(lat, 0.99), 2)
      .add("p999_ms", percentile(lat, 0.999), 2)
      .add("max_ms", percentile(lat, 1.0), 2)
      .add("fsyncs_per_s", static_cast<double>(saves) / window_s, 0)
      .add("entries_per_fsync",
           saves ? static_cast<double>(entries) / static_cast<double>(saves) : 0.0, 1)
      .add("sync_save_ms",
           saves ? static_cast<double>(save_ns) / 1e6 / static_cast<double>(saves) : 0.0, 2)
      .add("readies_per_s", static_cast<double>(readies) / window_s, 0)
      .add("value_bytes", f.value_bytes)
      .add("failed", failed)
      .add("stalled_clients", stalled)
      .add("reads_ok", reads)
      .add("seconds", window_s, 1)
      .add("sync", f.no_sync ? "off" : "on")
      .print();
  return lat.empty() || stalled > 0 || reads != f.nodes ? 1 : 0;
}

// ---- raft-failover: the simulator ----

struct FailoverFlags {
  uint64_t seeds = 100;
  uint64_t first_seed = 1;
};

int run_failover(const FailoverFlags& f) {
  using namespace std::chrono_literals;
  using sim::raft_sim::HarnessConfig;
  using sim::raft_sim::RaftHarness;
  std::vector<double> gaps;
  uint64_t no_leader = 0;
  uint64_t no_gap = 0;
  for (uint64_t seed = f.first_seed; seed < f.first_seed + f.seeds; ++seed) {
    HarnessConfig cfg;
    cfg.seed = seed;
    cfg.voters = 3;
    RaftHarness h(cfg);
    h.start_clients(2, 50ms);
    Status st = h.sim().run_until(TimePoint(5s));
    auto l = h.leader();
    if (!st.is_ok() || !l) {
      if (!st.is_ok()) {
        std::fprintf(stderr, "shoal-bench raft-failover: seed %llu: %s\n",
                     static_cast<unsigned long long>(seed), st.to_string().c_str());
        return 1;
      }
      ++no_leader;
      continue;
    }
    h.crash(*l);
    st = h.sim().run_until(TimePoint(15s));
    if (!st.is_ok()) {
      std::fprintf(stderr, "shoal-bench raft-failover: seed %llu: %s\n",
                   static_cast<unsigned long long>(seed), st.to_string().c_str());
      return 1;
    }
    if (h.leaderless_gaps().empty()) {
      ++no_gap;  // no new leader within 10 s
      continue;
    }
    gaps.push_back(h.leaderless_gaps().front());
  }
  ResultLine("raft_failover")
      .add("seeds", f.seeds)
      .add("leaderless_p50_s", percentile(gaps, 0.50), 2)
      .add("leaderless_p99_s", percentile(gaps, 0.99), 2)
      .add("leaderless_max_s", percentile(gaps, 1.0), 2)
      .add("no_leader_at_5s", no_leader)
      .add("no_new_leader", no_gap)
      .print();
  return no_leader == 0 && no_gap == 0 ? 0 : 1;
}

}  // namespace

Runner add_raft(CLI::App& cmd) {
  auto f = std::make_shared<RaftFlags>();
  cmd.add_option("--nodes", f->nodes, "in-process Raft hosts (voters)")
      ->check(CLI::Range(1u, 7u))
      ->capture_default_str();
  cmd.add_option("--clients", f->clients, "closed-loop clients, one proposal outstanding each")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  cmd.add_option("--seconds", f->seconds, "measured seconds (after the warmup)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd.add_option("--warmup", f->warmup, "seconds of load before measuring")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  cmd.add_option("--value-bytes", f->value_bytes, "bytes per proposed command")
      ->check(CLI::Range(0u, 1u << 20))
      ->capture_default_str();
  cmd.add_option(
      "--data-dir", f->data_dir,
      "where node-i/ RocksDB directories go (wiped first); default: a temp dir, removed after");
  cmd.add_flag("--no-sync", f->no_sync,
               "diagnosis only: synced writes skip the fsync (the host and core without the disk)");
  return [f] { return run_raft(*f); };
}

Runner add_raft_failover(CLI::App& cmd) {
  auto f = std::make_shared<FailoverFlags>();
  cmd.add_option("--seeds", f->seeds, "simulated runs, one leader crash each")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}))
      ->capture_default_str();
  cmd.add_option("--first-seed", f->first_seed, "seed of the first run")->capture_default_str();
  return [f] { return run_failover(*f); };
}

}  // namespace shoal::bench
