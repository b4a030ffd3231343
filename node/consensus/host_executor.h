// HostExecutor: where a host loop (node/consensus/raft_host.h) runs, and the time it
// reads. The host touches its protocol core only from work the executor
// runs, one piece at a time (a strand of execution); other threads hand it
// work through post(). It never reads a clock or arms a timer of its own.
//
// Implementations: AsioHostExecutor (node/consensus/asio_host_executor.h), an
// io_context run by one thread and std::chrono::steady_clock, in the agent;
// SimHostExecutor (tests/sim/sim_host_executor.h), a simulated node's
// callbacks and virtual clock, in the simulator.
#pragma once

#include <functional>
#include <memory>

#include "core/time.h"

namespace shoal::node {

// A one-shot timer of one executor, used on that executor only.
class HostTimer {
 public:
  virtual ~HostTimer() = default;  // cancels
  // `f` runs once on the executor when the clock reaches `at` (soon, if it
  // already has), unless cancel() or another arm() comes first: arming
  // again replaces the pending `f`.
  virtual void arm(TimePoint at, std::function<void()> f) = 0;
  // The pending `f`, if any, never runs.
  virtual void cancel() = 0;
};

class HostExecutor {
 public:
  virtual ~HostExecutor() = default;
  // The clock timers are armed against; read it on the executor.
  virtual const Clock& clock() const = 0;
  // Runs `f` on the executor, later (never inside post()), after whatever
  // was posted before it. Thread-safe.
  virtual void post(std::function<void()> f) = 0;
  // A timer on this executor; it must not outlive the executor.
  virtual std::unique_ptr<HostTimer> make_timer() = 0;
};

}  // namespace shoal::node
