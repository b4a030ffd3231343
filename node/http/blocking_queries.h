// The blocking queries waiting on this agent (GET /v1/kv/<key>?index=N&wait=D,
// DESIGN.md §4). Each waits until the KV index passes N, its wait ends or its
// client goes away, whichever comes first, and is forgotten then: nothing
// stays behind once a query is over. Bounded: beyond `max` waiting, add()
// refuses a new one and the caller answers 429.
//
// On one thread (the agent's): add(), wake() and the timers run on the
// io_context given; size() may be read from any thread (the applying thread
// skips its wake-up post while it is 0).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "node/http/http_router.h"

namespace shoal::node {

class BlockingQueries {
 public:
  BlockingQueries(boost::asio::io_context& io, size_t max);
  BlockingQueries(const BlockingQueries&) = delete;
  BlockingQueries& operator=(const BlockingQueries&) = delete;
  ~BlockingQueries();  // drops the queries still waiting without calling them

  // Calls `ready` once: when wake() sees an index above `index`, or `wait`
  // from now. If `cancel` (may be null) fires first, the query is dropped
  // without a call. False, keeping nothing, when `max` queries wait already.
  [[nodiscard]] bool add(uint64_t index, std::chrono::milliseconds wait,
                         std::shared_ptr<HttpCancelSignal> cancel, std::function<void()> ready);
  // The KV index is now `index`: calls every query waiting for less.
  void wake(uint64_t index);
  // Calls every query now (the agent stops).
  void wake_all();

  size_t size() const { return size_.load(std::memory_order_acquire); }
  size_t max() const { return max_; }
  uint64_t refused() const { return refused_; }  // add() calls refused so far

 private:
  struct Query {
    explicit Query(boost::asio::io_context& io) : timer(io) {}
    std::multimap<uint64_t, uint64_t>::iterator by_index;
    boost::asio::steady_timer timer;
    std::shared_ptr<HttpCancelSignal> cancel;
    HttpCancelSignal::Token cancel_token = 0;
    std::function<void()> ready;
  };

  // Forgets query `id` (if still there) and, with `call`, calls it.
  void finish(uint64_t id, bool call);

  boost::asio::io_context& io_;
  const size_t max_;
  std::map<uint64_t, std::unique_ptr<Query>> queries_;  // by id
  std::multimap<uint64_t, uint64_t> by_index_;          // the index awaited -> id
  uint64_t next_id_ = 1;
  uint64_t refused_ = 0;
  std::atomic<size_t> size_{0};
};

}  // namespace shoal::node
