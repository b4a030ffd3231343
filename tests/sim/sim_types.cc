#include "tests/sim/sim_types.h"

namespace shoal::sim {

namespace {

// -Wpedantic objects to the bare type name; __extension__ marks it as a
// deliberate GNU extension. 128 bits keep offset + t * rate exact for any run
// length that fits in a TimePoint.
__extension__ typedef __int128 Int128;

constexpr int64_t kMillion = 1'000'000;

// Floor and ceiling division for a positive divisor.
Int128 floor_div(Int128 a, Int128 b) {
  Int128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
Int128 ceil_div(Int128 a, Int128 b) {
  Int128 q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

}  // namespace

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kStart:
      return "start";
    case EventKind::kTick:
      return "tick";
    case EventKind::kTimer:
      return "timer";
    case EventKind::kDeliver:
      return "deliver";
    case EventKind::kScript:
      return "script";
  }
  return "?";
}

const char* event_outcome_name(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::kApplied:
      return "applied";
    case EventOutcome::kDroppedDown:
      return "dropped: node down";
    case EventOutcome::kDroppedPartition:
      return "dropped: partition";
    case EventOutcome::kStale:
      return "stale";
  }
  return "?";
}

std::string describe(const EventInfo& e) {
  std::string out = "event #" + std::to_string(e.number) + " at " +
                    format_duration(e.time.time_since_epoch()) + ": " + event_kind_name(e.kind);
  if (e.kind == EventKind::kDeliver) {
    out += " to node " + std::to_string(e.node) + " from " + std::to_string(e.from);
  } else if (e.kind != EventKind::kScript) {
    out += " node " + std::to_string(e.node);
  }
  out += " (";
  out += event_outcome_name(e.outcome);
  out += ")";
  return out;
}

int64_t ClockSkew::to_local(int64_t virtual_ns) const {
  if (rate_ppm == 0) return offset.count() + virtual_ns;
  Int128 scaled = floor_div(static_cast<Int128>(virtual_ns) * (kMillion + rate_ppm), kMillion);
  return offset.count() + static_cast<int64_t>(scaled);
}

int64_t ClockSkew::to_virtual(int64_t local_ns) const {
  const int64_t since = local_ns - offset.count();
  if (rate_ppm == 0) return since;
  // Smallest v with floor(v * r / 1e6) >= since, i.e. v * r >= since * 1e6.
  return static_cast<int64_t>(ceil_div(static_cast<Int128>(since) * kMillion, kMillion + rate_ppm));
}

}  // namespace shoal::sim
