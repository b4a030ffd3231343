// AsioHostExecutor: the production HostExecutor (node/consensus/host_executor.h). A
// Boost.Asio io_context run by exactly one thread, timers on
// std::chrono::steady_clock (through SteadyClock, core/time.h).
//
// Either the caller's io_context (the caller runs it, on one thread), or an
// io_context of its own with a thread of its own: start() spawns the thread,
// join(last) runs `last` there as the final piece of work and joins it.
// That is what RaftHost::open() picks between with its `io` argument.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "core/time.h"
#include "node/consensus/host_executor.h"

namespace shoal::node {

class AsioHostExecutor final : public HostExecutor {
 public:
  // On `io`, which one thread of the caller's runs; it must outlive this.
  explicit AsioHostExecutor(boost::asio::io_context& io);
  // On an io_context of its own, run by a thread of its own from start().
  AsioHostExecutor();
  ~AsioHostExecutor() override;  // joins the own thread if join() did not
  AsioHostExecutor(const AsioHostExecutor&) = delete;
  AsioHostExecutor& operator=(const AsioHostExecutor&) = delete;

  // Own io_context: starts its thread (once). Nothing with the caller's.
  void start();
  // Own io_context with its thread running: runs `last` on that thread after
  // everything posted before, lets the loop end, joins it, returns true.
  // Otherwise returns false and runs nothing: the caller runs `last`
  // itself, on the loop's thread or while nothing runs the loop.
  bool join(std::function<void()> last);

  const Clock& clock() const override { return clock_; }
  void post(std::function<void()> f) override;
  std::unique_ptr<HostTimer> make_timer() override;

 private:
  std::unique_ptr<boost::asio::io_context> owned_io_;  // declared before io_
  boost::asio::io_context& io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  SteadyClock clock_;
};

}  // namespace shoal::node
