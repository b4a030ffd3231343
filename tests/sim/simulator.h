// Simulator: a deterministic, single-threaded, multi-node simulation for
// testing Shoal's protocol cores (gossip, Raft, auction) at scale.
//
// One seed drives everything. Time is virtual: an event heap ordered by
// (time, sequence number) is drained in order, so a run is a pure function of
// the seed, the configuration and the test's code -- the same seed replays the
// same run, event for event, and trace_hash() proves it.
//
// Each of N nodes hosts one Process<Msg> (the protocol core plus the glue the
// test needs). The simulator calls it when the node boots, ticks, a timer
// fires or a packet arrives; the process acts through a Context<Msg>: its own
// Rng, its local (skewed) clock, send(), set_timer(), its SimDisk.
//
// Between nodes sits a network model: a default LinkModel (latency range,
// loss, duplication, reordering) plus sparse per-directed-link overrides;
// two-way partitions as a per-node group (O(N) memory, cheap for 10,000
// nodes) and one-way blocks as a sparse set of directed links. Reachability is
// checked when a packet is sent and again when it arrives, so packets in
// flight when a partition starts are lost.
//
// A slow node: set_receive_delay(node, max) makes the node handle each
// packet it receives only after an extra delay, uniform in [0, max] and in
// arrival order (a CPU-starved process working through its socket buffer);
// its timers and ticks still fire on time, so it sees its own probes time out
// while the answers wait in its queue.
//
// Faults: crash(node) destroys the process (its volatile state is gone) and
// drops unsynced disk writes; restart(node) builds a new process with the
// factory and runs start() on it. Timers and ticks of a crashed incarnation
// never fire. Per-node clock skew shifts and scales what a node's clock reads.
// Scripted faults run at chosen virtual times through at().
//
// An invariant hook runs after every event; the first failure stops the run
// and its Status names the event, the virtual time and the seed.
//
// Msg is the test's choice of message representation:
//   - a small struct by value: the fast path (no allocation per event);
//   - std::shared_ptr<const T>: one immutable object shared by every copy of
//     a broadcast, so 10,000-node floods fit in memory;
//   - std::vector<uint8_t>: bytes through the real codec, when the test wants
//     encoding and decoding on every hop.
// It is stored inline in the event, must be default-constructible (events
// that carry no message hold a Msg{}) and copyable (duplication, broadcast).
//
// Usage:
//   SimConfig cfg{.seed = seed, .nodes = 100};
//   Simulator<MyMsg> sim(cfg, [&](NodeIndex) { return std::make_unique<MyProcess>(...); });
//   sim.set_invariant([](const auto& s) { return check(s); });
//   sim.at(time_at(5s), [](auto& s) { s.crash(3); });
//   ASSERT_TRUE(sim.run_for(60s).is_ok());
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "core/time.h"
#include "tests/sim/sim_disk.h"
#include "tests/sim/sim_types.h"

namespace shoal::sim {

template <class Msg>
class Simulator;

// What a process sees of the world during one callback. It is valid only for
// the duration of that callback: never store it.
template <class Msg>
class Context {
 public:
  NodeIndex self() const { return self_; }
  uint32_t node_count() const;
  // This node's local clock: virtual time through its ClockSkew.
  TimePoint now() const;
  // This node's own generator, derived from (seed, node, incarnation): a
  // restarted node does not repeat the random choices of its previous life.
  Rng& rng();
  // How many times this node has crashed (0 for the first boot).
  uint32_t incarnation() const;
  // Sends `msg` to node `to` (which may be self) through the network model.
  void send(NodeIndex to, Msg msg);
  // Like send(), but never lost or duplicated by the link model (latency,
  // reordering, partitions, blocks and crashed receivers still apply): a
  // message over an established TCP stream, which retransmits for us.
  void send_reliable(NodeIndex to, Msg msg);
  // Calls Process::timer(token) once `delay` of local time has passed. Timers
  // cannot be cancelled; a process that needs to ignores stale tokens (e.g.
  // by putting a generation number in them). Timers set before a crash
  // never fire.
  void set_timer(Duration delay, uint64_t token);
  // This node's disk; it survives crashes, minus unsynced writes.
  SimDisk& disk();
  // Mixes a process-visible fact into the run's trace hash, so that two runs
  // that differ only inside processes still hash differently.
  void trace(uint64_t fact);

 private:
  friend class Simulator<Msg>;
  Context(Simulator<Msg>* sim, NodeIndex self) : sim_(sim), self_(self) {}
  Simulator<Msg>* sim_;
  NodeIndex self_;
};

// The code one simulated node runs. One object per incarnation: on a crash
// it is destroyed, on restart the factory makes a new one.
template <class Msg>
class Process {
 public:
  virtual ~Process() = default;
  // The node boots (first start or restart). Anything the process kept on
  // ctx.disk() and synced is still there.
  virtual void start(Context<Msg>& ctx) = 0;
  // Every SimConfig::tick_interval of local time, while the node is up.
  virtual void tick(Context<Msg>& /*ctx*/) {}
  // A packet from `from` arrived.
  virtual void receive(Context<Msg>& ctx, NodeIndex from, const Msg& msg) = 0;
  // A timer set with ctx.set_timer() expired.
  virtual void timer(Context<Msg>& /*ctx*/, uint64_t /*token*/) {}
};

template <class Msg>
class Simulator {
  static_assert(std::default_initializable<Msg> && std::copyable<Msg>,
                "Msg must be default-constructible and copyable");

 public:
  using ProcessPtr = std::unique_ptr<Process<Msg>>;
  // Makes the process for a node, at its first boot and at every restart.
  using Factory = std::function<ProcessPtr(NodeIndex)>;
  // Checked after every event; a non-ok Status stops the run.
  using Invariant = std::function<Status(const Simulator&)>;
  // A scripted action at a virtual time (faults, client requests, checks).
  using Script = std::function<void(Simulator&)>;

  // Every node boots at time 0 (start events in node order), when the run
  // begins; configure links, partitions, skews and scripts before running.
  Simulator(SimConfig config, Factory factory);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // ---- running ----
  // Processes every event with time <= `deadline`, then sets now() to
  // `deadline`. Stops early with the invariant's error, naming the event.
  [[nodiscard]] Status run_until(TimePoint deadline);
  [[nodiscard]] Status run_for(Duration d) { return run_until(now() + d); }
  // Virtual time: the time of the event being processed, or where the last
  // run stopped.
  TimePoint now() const { return TimePoint(Duration(now_)); }
  uint64_t seed() const { return config_.seed; }
  uint32_t node_count() const { return static_cast<uint32_t>(nodes_.size()); }
  const SimConfig& config() const { return config_; }

  // Runs `script` at virtual time `t` (clamped to now). Scripts at the same
  // time run in the order they were registered.
  void at(TimePoint t, Script script);
  void after(Duration d, Script script) { at(now() + d, std::move(script)); }
  // Injects a packet from `from` to `to` as if `from` had sent it (e.g. a
  // client request, or a message from a node that is down).
  void send_from(NodeIndex from, NodeIndex to, Msg msg);
  // Runs f(Context<Msg>&) as node `node`, now, from a script or between runs
  // (never from inside a process callback): how a test delivers a local
  // action -- an operator command, a config change -- to a node's process.
  // Does nothing while the node is down.
  template <class F>
  void with_context(NodeIndex node, F&& f);

  // ---- checking ----
  void set_invariant(Invariant invariant) { invariant_ = std::move(invariant); }
  const EventInfo& current_event() const { return current_; }
  // A running hash of every event (time, kind, outcome, node, sender) and of
  // every Context::trace() fact: equal hashes mean (with overwhelming
  // probability) identical runs.
  uint64_t trace_hash() const { return trace_; }
  const SimStats& stats() const { return stats_; }
  // Packets scheduled for delivery and not yet arrived.
  uint64_t in_flight() const { return in_flight_; }
  // The network's book-keeping invariant, O(1): every packet sent (or
  // duplicated) was delivered, dropped once, or is still in flight.
  [[nodiscard]] Status check_conservation() const;

  // ---- network ----
  void set_default_link(const LinkModel& model) { config_.network = model; }
  const LinkModel& default_link() const { return config_.network; }
  // Overrides the model of the directed link from -> to.
  void set_link(NodeIndex from, NodeIndex to, const LinkModel& model);
  void clear_link(NodeIndex from, NodeIndex to) { links_.erase(link_key(from, to)); }
  // Two-way partition: group i of `groups` can only talk within itself; nodes
  // listed in no group form one more group of their own. Replaces any
  // previous partition. O(N).
  void partition(const std::vector<std::vector<NodeIndex>>& groups);
  // Ends the two-way partition (one-way blocks stay).
  void heal();
  // One-way: packets from -> to are dropped; to -> from still flow.
  void block(NodeIndex from, NodeIndex to) { blocked_.insert(link_key(from, to)); }
  void unblock(NodeIndex from, NodeIndex to) { blocked_.erase(link_key(from, to)); }
  void unblock_all() { blocked_.clear(); }
  // Whether a packet from -> to would pass partitions and blocks now.
  bool reachable(NodeIndex from, NodeIndex to) const;

  // ---- nodes ----
  // Crashes a node: its process is destroyed, unsynced disk writes are lost
  // (SimConfig::disk_crash), pending timers and ticks will never fire, and
  // packets arriving while it is down are dropped. No-op if already down.
  void crash(NodeIndex node);
  // Boots a node now: the factory makes a fresh process and start() runs
  // before restart() returns. A node that is up is crashed first.
  void restart(NodeIndex node);
  bool is_up(NodeIndex node) const { return nodes_.at(node).up; }
  uint32_t incarnation(NodeIndex node) const { return nodes_.at(node).incarnation; }
  // The node's current process (tests may downcast it), or nullptr while it
  // is down or not yet booted.
  Process<Msg>* process(NodeIndex node) const { return nodes_.at(node).process.get(); }
  // The node's disk, also while it is down.
  SimDisk& disk(NodeIndex node) { return nodes_.at(node).disk; }
  const SimDisk& disk(NodeIndex node) const { return nodes_.at(node).disk; }
  void set_disk_crash_mode(DiskCrashMode mode) { config_.disk_crash = mode; }
  // Slows down how fast `node` handles received packets (see the header
  // comment); zero turns it off.
  void set_receive_delay(NodeIndex node, Duration max);
  // Skews a node's clock from now on (see ClockSkew). rate_ppm > -1e6.
  void set_clock_skew(NodeIndex node, Duration offset, int64_t rate_ppm);
  // The node's local clock reading at the current virtual time.
  TimePoint local_time(NodeIndex node) const {
    return TimePoint(Duration(nodes_.at(node).skew.to_local(now_)));
  }

 private:
  friend class Context<Msg>;

  // One pending event. The message is inline (no allocation per event for
  // a small Msg); scripts live in a side table.
  struct Event {
    int64_t time;
    uint64_t seq;
    uint64_t token;  // timer token, or the script's key
    NodeIndex node;
    NodeIndex from;
    uint32_t incarnation;  // of `node` when scheduled (ticks, timers, starts)
    EventKind kind;
    Msg msg;
  };
  // The heap orders small keys, not events: events stay put in slots_ and
  // each heap step moves 24 bytes whatever the size of Msg.
  struct HeapEntry {
    int64_t time;
    uint64_t seq;
    uint32_t slot;
  };
  // std heaps are max-heaps: "later" sorts first out of the way.
  struct Later {
    bool operator()(const HeapEntry& a, const HeapEntry& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };

  struct Node {
    ProcessPtr process;
    Rng rng{0};
    SimDisk disk;
    ClockSkew skew;
    int64_t next_tick_local = 0;
    int64_t receive_delay_max = 0;   // set_receive_delay()
    int64_t last_slow_delivery = 0;  // keeps a slow node's packets in order
    uint32_t incarnation = 0;
    uint32_t group = 0;  // two-way partition group
    bool up = true;
  };

  static uint64_t link_key(NodeIndex from, NodeIndex to) {
    return (static_cast<uint64_t>(from) << 32) | to;
  }

  void push(Event ev);
  void dispatch(Event& ev);
  EventOutcome outcome_of(const Event& ev) const;
  void boot(NodeIndex node);
  void schedule_tick(NodeIndex node);
  void send_packet(NodeIndex from, NodeIndex to, Msg msg, bool reliable = false);
  void schedule_delivery(NodeIndex from, NodeIndex to, Msg msg, const LinkModel& model);
  void set_timer(NodeIndex node, Duration delay, uint64_t token);
  Status invariant_failed(const Status& st) const;

  SimConfig config_;
  Factory factory_;
  Invariant invariant_;
  std::vector<Node> nodes_;
  std::vector<HeapEntry> heap_;
  // Pending events, indexed by HeapEntry::slot; free_slots_ are reusable.
  std::vector<Event> slots_;
  std::vector<uint32_t> free_slots_;
  // Scripts by event seq; link overrides and one-way blocks by link_key().
  std::unordered_map<uint64_t, Script> scripts_;
  std::unordered_map<uint64_t, LinkModel> links_;
  std::unordered_set<uint64_t> blocked_;
  Rng net_rng_;    // latency, loss, duplication, reordering
  Rng fault_rng_;  // tick phases, torn writes
  Rng slow_rng_;   // slow nodes' receive delays
  int64_t now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t trace_ = 0;
  uint64_t in_flight_ = 0;
  SimStats stats_;
  EventInfo current_;
  // The node whose process is running a callback, to catch a process that
  // tries to crash or restart itself through a captured Simulator.
  static constexpr NodeIndex kNoNode = ~NodeIndex{0};
  NodeIndex running_ = kNoNode;
};

// ---------------------------------------------------------------------------
// Implementation.

template <class Msg>
Simulator<Msg>::Simulator(SimConfig config, Factory factory)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      nodes_(config_.nodes),
      // Separate streams, so e.g. turning on torn writes does not change
      // every packet's latency.
      net_rng_(Rng(config_.seed).fork(1)),
      fault_rng_(Rng(config_.seed).fork(2)),
      slow_rng_(Rng(config_.seed).fork(3)) {
  SHOAL_CHECK(config_.nodes > 0);
  SHOAL_CHECK(config_.tick_interval.count() >= 0);
  SHOAL_CHECK(static_cast<bool>(factory_));
  heap_.reserve(nodes_.size() * 2);
  slots_.reserve(nodes_.size() * 2);
  for (NodeIndex i = 0; i < nodes_.size(); ++i) {
    push(Event{0, 0, 0, i, i, 0, EventKind::kStart, Msg{}});
  }
}

template <class Msg>
void Simulator<Msg>::push(Event ev) {
  ev.seq = next_seq_++;
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(ev));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(ev);
  }
  const Event& stored = slots_[slot];
  heap_.push_back(HeapEntry{stored.time, stored.seq, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

template <class Msg>
Status Simulator<Msg>::run_until(TimePoint deadline) {
  const int64_t end = to_nanos(deadline);
  while (!heap_.empty() && heap_.front().time <= end) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    // Move the event out before dispatching: callbacks push into slots_.
    Event ev = std::move(slots_[slot]);
    free_slots_.push_back(slot);
    now_ = ev.time;
    dispatch(ev);
    if (invariant_) {
      Status st = invariant_(*this);
      if (!st.is_ok()) return invariant_failed(st);
    }
  }
  now_ = std::max(now_, end);
  return Status::ok();
}

template <class Msg>
Status Simulator<Msg>::invariant_failed(const Status& st) const {
  return Status(st.code(), "invariant failed after " + describe(current_) + " (seed " +
                               std::to_string(config_.seed) + "): " + st.message());
}

template <class Msg>
EventOutcome Simulator<Msg>::outcome_of(const Event& ev) const {
  const Node& n = nodes_[ev.node];
  switch (ev.kind) {
    case EventKind::kDeliver:
      if (!n.up) return EventOutcome::kDroppedDown;
      if (!reachable(ev.from, ev.node)) return EventOutcome::kDroppedPartition;
      return EventOutcome::kApplied;
    case EventKind::kStart:
    case EventKind::kTick:
    case EventKind::kTimer:
      return (n.up && n.incarnation == ev.incarnation) ? EventOutcome::kApplied
                                                       : EventOutcome::kStale;
    case EventKind::kScript:
      return EventOutcome::kApplied;
  }
  return EventOutcome::kStale;
}

template <class Msg>
void Simulator<Msg>::dispatch(Event& ev) {
  ++stats_.events;
  const EventOutcome outcome = outcome_of(ev);
  current_ =
      EventInfo{TimePoint(Duration(ev.time)), stats_.events, ev.kind, outcome, ev.node, ev.from};
  // The event itself goes into the trace before anything the process does.
  trace_ = mix64(trace_, static_cast<uint64_t>(ev.time));
  trace_ = mix64(trace_, (static_cast<uint64_t>(ev.kind) << 60) ^
                             (static_cast<uint64_t>(outcome) << 56) ^
                             (static_cast<uint64_t>(ev.node) << 28) ^ ev.from);
  if (ev.kind == EventKind::kDeliver) --in_flight_;

  if (outcome != EventOutcome::kApplied) {
    if (outcome == EventOutcome::kDroppedDown) ++stats_.dropped_down;
    if (outcome == EventOutcome::kDroppedPartition) ++stats_.dropped_partition;
    return;
  }
  if (ev.kind == EventKind::kScript) {
    auto it = scripts_.find(ev.seq);
    Script script = std::move(it->second);
    scripts_.erase(it);
    script(*this);
    return;
  }
  if (ev.kind == EventKind::kStart) {
    boot(ev.node);
    return;
  }

  Node& n = nodes_[ev.node];
  Context<Msg> ctx(this, ev.node);
  running_ = ev.node;
  switch (ev.kind) {
    case EventKind::kTick:
      ++stats_.ticks;
      schedule_tick(ev.node);
      n.process->tick(ctx);
      break;
    case EventKind::kTimer:
      ++stats_.timers;
      n.process->timer(ctx, ev.token);
      break;
    case EventKind::kDeliver:
      ++stats_.delivered;
      n.process->receive(ctx, ev.from, ev.msg);
      break;
    default:
      break;
  }
  running_ = kNoNode;
}

template <class Msg>
void Simulator<Msg>::boot(NodeIndex node) {
  Node& n = nodes_[node];
  n.up = true;
  n.rng = Rng(mix64(mix64(config_.seed, node), n.incarnation));
  n.process = factory_(node);
  SHOAL_CHECK_MSG(n.process != nullptr, "process factory returned null");
  if (config_.tick_interval.count() > 0) {
    const auto phase = static_cast<int64_t>(
        fault_rng_.uniform(static_cast<uint64_t>(config_.tick_interval.count())));
    n.next_tick_local = n.skew.to_local(now_) + phase - config_.tick_interval.count();
    schedule_tick(node);
  }
  Context<Msg> ctx(this, node);
  running_ = node;
  n.process->start(ctx);
  running_ = kNoNode;
}

template <class Msg>
void Simulator<Msg>::schedule_tick(NodeIndex node) {
  Node& n = nodes_[node];
  // Ticks follow the local clock: next = previous + interval, in local time,
  // converted to virtual time (so a fast clock ticks more often).
  n.next_tick_local += config_.tick_interval.count();
  const int64_t when = std::max(now_, n.skew.to_virtual(n.next_tick_local));
  push(Event{when, 0, 0, node, node, n.incarnation, EventKind::kTick, Msg{}});
}

template <class Msg>
void Simulator<Msg>::set_timer(NodeIndex node, Duration delay, uint64_t token) {
  Node& n = nodes_[node];
  const int64_t deadline_local = n.skew.to_local(now_) + std::max<int64_t>(delay.count(), 0);
  const int64_t when = std::max(now_, n.skew.to_virtual(deadline_local));
  push(Event{when, 0, token, node, node, n.incarnation, EventKind::kTimer, Msg{}});
}

template <class Msg>
bool Simulator<Msg>::reachable(NodeIndex from, NodeIndex to) const {
  if (nodes_[from].group != nodes_[to].group) return false;
  return blocked_.empty() || blocked_.count(link_key(from, to)) == 0;
}

template <class Msg>
void Simulator<Msg>::send_packet(NodeIndex from, NodeIndex to, Msg msg, bool reliable) {
  SHOAL_CHECK(from < nodes_.size() && to < nodes_.size());
  ++stats_.sent;
  if (!reachable(from, to)) {
    ++stats_.dropped_partition;
    return;
  }
  const LinkModel* model = &config_.network;
  if (!links_.empty()) {
    auto it = links_.find(link_key(from, to));
    if (it != links_.end()) model = &it->second;
  }
  if (!reliable && model->loss > 0 && net_rng_.chance(model->loss)) {
    ++stats_.dropped_loss;
    return;
  }
  if (!reliable && model->duplicate > 0 && net_rng_.chance(model->duplicate)) {
    ++stats_.duplicated;
    schedule_delivery(from, to, msg, *model);
  }
  schedule_delivery(from, to, std::move(msg), *model);
}

template <class Msg>
void Simulator<Msg>::schedule_delivery(NodeIndex from, NodeIndex to, Msg msg,
                                       const LinkModel& model) {
  int64_t delay = model.latency_min.count();
  if (model.latency_max > model.latency_min) {
    delay = net_rng_.uniform_range(model.latency_min.count(), model.latency_max.count());
  }
  if (model.reorder > 0 && net_rng_.chance(model.reorder)) {
    ++stats_.reordered;
    delay += net_rng_.uniform_range(0, model.reorder_max.count());
  }
  int64_t when = now_ + std::max<int64_t>(delay, 0);
  Node& dest = nodes_[to];
  if (dest.receive_delay_max > 0) {
    when += slow_rng_.uniform_range(0, dest.receive_delay_max);
    when = std::max(when, dest.last_slow_delivery);
    dest.last_slow_delivery = when;
  }
  ++in_flight_;
  push(Event{when, 0, 0, to, from, 0, EventKind::kDeliver, std::move(msg)});
}

template <class Msg>
void Simulator<Msg>::set_receive_delay(NodeIndex node, Duration max) {
  Node& n = nodes_.at(node);
  n.receive_delay_max = std::max<int64_t>(0, max.count());
  n.last_slow_delivery = now_;
}

template <class Msg>
void Simulator<Msg>::at(TimePoint t, Script script) {
  Event ev{std::max(now_, to_nanos(t)), 0, 0, 0, 0, 0, EventKind::kScript, Msg{}};
  ev.seq = next_seq_;  // push() assigns this same number
  scripts_.emplace(ev.seq, std::move(script));
  push(std::move(ev));
}

template <class Msg>
void Simulator<Msg>::send_from(NodeIndex from, NodeIndex to, Msg msg) {
  send_packet(from, to, std::move(msg));
}

template <class Msg>
template <class F>
void Simulator<Msg>::with_context(NodeIndex node, F&& f) {
  SHOAL_CHECK_MSG(running_ == kNoNode, "with_context() from inside a process callback");
  if (!nodes_.at(node).up) return;
  Context<Msg> ctx(this, node);
  running_ = node;
  f(ctx);
  running_ = kNoNode;
}

template <class Msg>
void Simulator<Msg>::set_link(NodeIndex from, NodeIndex to, const LinkModel& model) {
  SHOAL_CHECK(from < nodes_.size() && to < nodes_.size());
  links_.insert_or_assign(link_key(from, to), model);
}

template <class Msg>
void Simulator<Msg>::partition(const std::vector<std::vector<NodeIndex>>& groups) {
  heal();
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeIndex node : groups[g]) nodes_.at(node).group = static_cast<uint32_t>(g + 1);
  }
}

template <class Msg>
void Simulator<Msg>::heal() {
  for (Node& n : nodes_) n.group = 0;
}

template <class Msg>
void Simulator<Msg>::crash(NodeIndex node) {
  Node& n = nodes_.at(node);
  SHOAL_CHECK_MSG(running_ != node, "a process cannot crash itself from a callback");
  if (!n.up) return;
  n.up = false;
  n.process.reset();
  // Bumping the incarnation makes every pending tick, timer and start of the
  // old life stale.
  ++n.incarnation;
  n.disk.crash(config_.disk_crash, fault_rng_);
  ++stats_.crashes;
}

template <class Msg>
void Simulator<Msg>::restart(NodeIndex node) {
  SHOAL_CHECK_MSG(running_ == kNoNode, "restart() from inside a process callback");
  if (nodes_.at(node).up) crash(node);
  ++stats_.restarts;
  boot(node);
}

template <class Msg>
void Simulator<Msg>::set_clock_skew(NodeIndex node, Duration offset, int64_t rate_ppm) {
  SHOAL_CHECK(rate_ppm > -1'000'000);
  Node& n = nodes_.at(node);
  // Keep the tick schedule continuous in virtual time: re-express the next
  // tick's local deadline under the new clock.
  const int64_t next_tick_virtual = n.skew.to_virtual(n.next_tick_local);
  n.skew = ClockSkew{offset, rate_ppm};
  n.next_tick_local = n.skew.to_local(next_tick_virtual);
}

template <class Msg>
Status Simulator<Msg>::check_conservation() const {
  const SimStats& s = stats_;
  const uint64_t in = s.sent + s.duplicated;
  const uint64_t out =
      s.delivered + s.dropped_loss + s.dropped_partition + s.dropped_down + in_flight_;
  if (in == out) return Status::ok();
  return Status::internal("packet conservation broken: sent " + std::to_string(s.sent) +
                          " + duplicated " + std::to_string(s.duplicated) + " != delivered " +
                          std::to_string(s.delivered) + " + dropped " +
                          std::to_string(s.dropped_loss + s.dropped_partition + s.dropped_down) +
                          " + in flight " + std::to_string(in_flight_));
}

// ---- Context ----

template <class Msg>
uint32_t Context<Msg>::node_count() const {
  return sim_->node_count();
}
template <class Msg>
TimePoint Context<Msg>::now() const {
  return sim_->local_time(self_);
}
template <class Msg>
Rng& Context<Msg>::rng() {
  return sim_->nodes_[self_].rng;
}
template <class Msg>
uint32_t Context<Msg>::incarnation() const {
  return sim_->nodes_[self_].incarnation;
}
template <class Msg>
void Context<Msg>::send(NodeIndex to, Msg msg) {
  sim_->send_packet(self_, to, std::move(msg));
}
template <class Msg>
void Context<Msg>::send_reliable(NodeIndex to, Msg msg) {
  sim_->send_packet(self_, to, std::move(msg), /*reliable=*/true);
}
template <class Msg>
void Context<Msg>::set_timer(Duration delay, uint64_t token) {
  sim_->set_timer(self_, delay, token);
}
template <class Msg>
SimDisk& Context<Msg>::disk() {
  return sim_->nodes_[self_].disk;
}
template <class Msg>
void Context<Msg>::trace(uint64_t fact) {
  sim_->trace_ = mix64(sim_->trace_, fact);
}

}  // namespace shoal::sim
