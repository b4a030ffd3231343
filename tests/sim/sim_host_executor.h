// SimHostExecutor: a node::HostExecutor (node/consensus/host_executor.h) for one
// simulated node, so that a production host loop (node/consensus/raft_host.h) runs on
// the simulator's virtual time, deterministically.
//
//   - post(): queued. The process wraps each of its callbacks in
//     run(ctx, f): f runs, then the queue is drained, work posted meanwhile
//     included, before the callback returns, all at one virtual instant. A
//     post from outside run() waits for the node's next callback.
//   - timers: simulator timers (Context::set_timer) whose token names one
//     arming. Simulator timers cannot be cancelled, so cancelling or
//     re-arming forgets the token and a stale one is ignored when it fires;
//     the process hands every Process::timer() token to fire().
//   - clock(): the node's local clock (virtual time through its skew).
//   - halt(): nothing queued or due runs any more, for a node that died
//     inside an fsync and waits for the simulator to crash it.
//
// Single-threaded like the simulator. Arm timers only inside run() or
// fire() (they need the callback's Context).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "core/status.h"
#include "core/time.h"
#include "node/consensus/host_executor.h"
#include "tests/sim/simulator.h"

namespace shoal::sim {

template <class Msg>
class SimHostExecutor final : public node::HostExecutor {
 public:
  SimHostExecutor(const Simulator<Msg>& sim, NodeIndex node) : clock_(sim, node) {}
  SimHostExecutor(const SimHostExecutor&) = delete;
  SimHostExecutor& operator=(const SimHostExecutor&) = delete;

  // Runs f() in the callback whose context is `ctx`, then drains the queue.
  // Nested calls just run f (the outer one drains).
  template <class F>
  void run(Context<Msg>& ctx, F&& f) {
    if (ctx_ != nullptr) {
      f();
      return;
    }
    ctx_ = &ctx;
    f();
    drain();
    ctx_ = nullptr;
  }
  // Process::timer(ctx, token): runs the timer armed with `token` unless it
  // was cancelled or re-armed since (or the executor halted), then drains.
  void fire(Context<Msg>& ctx, uint64_t token) {
    run(ctx, [&] {
      auto it = armed_.find(token);
      if (it == armed_.end() || halted_) return;
      std::function<void()> f = std::move(it->second);
      armed_.erase(it);
      f();
    });
  }
  void halt() { halted_ = true; }
  bool halted() const { return halted_; }
  // The context of the callback running now; nullptr between callbacks.
  Context<Msg>* context() const { return ctx_; }

  const Clock& clock() const override { return clock_; }
  void post(std::function<void()> f) override { queue_.push_back(std::move(f)); }
  std::unique_ptr<node::HostTimer> make_timer() override { return std::make_unique<Timer>(*this); }

 private:
  class NodeClock final : public Clock {
   public:
    NodeClock(const Simulator<Msg>& sim, NodeIndex node) : sim_(sim), node_(node) {}
    TimePoint now() const override { return sim_.local_time(node_); }

   private:
    const Simulator<Msg>& sim_;
    NodeIndex node_;
  };

  class Timer final : public node::HostTimer {
   public:
    explicit Timer(SimHostExecutor& exec) : exec_(exec) {}
    ~Timer() override { cancel(); }
    void arm(TimePoint at, std::function<void()> f) override {
      cancel();
      SHOAL_CHECK_MSG(exec_.ctx_ != nullptr, "sim executor: a timer armed outside a callback");
      token_ = ++exec_.next_token_;
      exec_.armed_.emplace(token_, std::move(f));
      exec_.ctx_->set_timer(at - exec_.clock_.now(), token_);
    }
    void cancel() override {
      if (token_ != 0) exec_.armed_.erase(token_);
      token_ = 0;
    }

   private:
    SimHostExecutor& exec_;
    uint64_t token_ = 0;  // the current arming; 0: none
  };

  void drain() {
    while (!queue_.empty() && !halted_) {
      std::function<void()> f = std::move(queue_.front());
      queue_.pop_front();
      f();
    }
  }

  NodeClock clock_;
  Context<Msg>* ctx_ = nullptr;
  std::deque<std::function<void()>> queue_;
  std::map<uint64_t, std::function<void()>> armed_;  // by token
  uint64_t next_token_ = 0;
  bool halted_ = false;
};

}  // namespace shoal::sim
