// Plain types shared by the simulator (tests/sim/simulator.h) and the tests
// and benchmarks that drive it: node indexes, the network model, the run
// configuration, counters, the description of one event, and per-node clock
// skew. Nothing here depends on the message type, so it is compiled once.
#pragma once

#include <cstdint>
#include <string>

#include "core/time.h"
#include "tests/sim/sim_disk.h"

namespace shoal::sim {

// A simulated node is named by its position, 0 .. node_count()-1. Protocols
// that need real NodeIds derive them from the index.
using NodeIndex = uint32_t;

// How packets behave on one directed link (or on every link, as the
// default). Every random decision is drawn from the simulator's seeded
// network Rng at send time.
struct LinkModel {
  // One-way latency, uniform in [latency_min, latency_max]. With min == max
  // the latency is fixed and packets on a link arrive in send order (FIFO).
  Duration latency_min = Duration(1'000'000);   // 1ms
  Duration latency_max = Duration(10'000'000);  // 10ms
  // Probability that a packet is lost.
  double loss = 0.0;
  // Probability that a packet is delivered twice (the copy draws its own
  // latency, so it may overtake the original).
  double duplicate = 0.0;
  // Probability that a packet gets an extra delay, uniform in
  // [0, reorder_max], on top of its latency: explicit reordering even on a
  // fixed-latency link.
  double reorder = 0.0;
  Duration reorder_max = Duration(50'000'000);  // 50ms
};

// Everything a Simulator needs at construction.
struct SimConfig {
  // The one seed every random decision of the run derives from.
  uint64_t seed = 1;
  uint32_t nodes = 1;
  // Interval between Process::tick() calls, in each node's local time; zero
  // disables ticks. Each (re)started node's first tick comes at a seeded
  // random phase in [0, tick_interval) so nodes do not tick in lockstep.
  Duration tick_interval = Duration(1'000'000'000);  // 1s
  // The model of every link without an override (Simulator::set_link).
  LinkModel network;
  // What a crash leaves of unsynced disk writes.
  DiskCrashMode disk_crash = DiskCrashMode::kDropUnsynced;
};

// Counters over a whole run. Conservation, which tests may check as an
// invariant: sent + duplicated == delivered + dropped_loss +
// dropped_partition + dropped_down + in flight.
struct SimStats {
  uint64_t events = 0;             // events taken off the heap (any kind)
  uint64_t sent = 0;               // send() calls
  uint64_t delivered = 0;          // receive() calls
  uint64_t dropped_loss = 0;       // lost by the link model
  uint64_t dropped_partition = 0;  // blocked by a partition, at send or at arrival
  uint64_t dropped_down = 0;       // arrived at a crashed node
  uint64_t duplicated = 0;         // extra copies created
  uint64_t reordered = 0;          // packets given an extra reorder delay
  uint64_t ticks = 0;              // tick() calls
  uint64_t timers = 0;             // timer() calls
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  bool operator==(const SimStats&) const = default;
};

enum class EventKind : uint8_t {
  kStart,    // a node's first boot at time 0
  kTick,     // periodic Process::tick()
  kTimer,    // a timer set through Context::set_timer()
  kDeliver,  // a packet arriving at its destination
  kScript,   // a callback registered with Simulator::at()
};
const char* event_kind_name(EventKind kind);

// What the simulator did with an event.
enum class EventOutcome : uint8_t {
  kApplied,           // the process (or script) ran
  kDroppedDown,       // a packet for a crashed node
  kDroppedPartition,  // a packet whose link was cut while it was in flight
  kStale,             // a tick, timer or start of an incarnation that crashed
};
const char* event_outcome_name(EventOutcome outcome);

// The event being (or last) processed; invariants read it through
// Simulator::current_event() to check only what that event touched, in O(1).
struct EventInfo {
  TimePoint time{};
  uint64_t number = 0;  // 1-based position in the run (== SimStats::events)
  EventKind kind = EventKind::kStart;
  EventOutcome outcome = EventOutcome::kApplied;
  NodeIndex node = 0;  // destination / owner
  NodeIndex from = 0;  // sender, for kDeliver; else == node
};
// "event #12 at 1.5s: deliver to node 3 from 7 (applied)".
std::string describe(const EventInfo& event);

// A node's clock relative to virtual time:
//   local = offset + virtual * (1e6 + rate_ppm) / 1e6
// computed in integer nanoseconds, so skewed runs replay exactly.
struct ClockSkew {
  Duration offset{0};
  int64_t rate_ppm = 0;  // must be > -1'000'000

  bool is_identity() const { return offset.count() == 0 && rate_ppm == 0; }
  // Local time at virtual time `virtual_ns` (rounded down).
  int64_t to_local(int64_t virtual_ns) const;
  // The earliest virtual time whose local time is >= `local_ns`.
  int64_t to_virtual(int64_t local_ns) const;
};

}  // namespace shoal::sim
