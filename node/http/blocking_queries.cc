#include "node/http/blocking_queries.h"

#include <utility>

namespace shoal::node {

BlockingQueries::BlockingQueries(boost::asio::io_context& io, size_t max) : io_(io), max_(max) {}

BlockingQueries::~BlockingQueries() {
  for (auto& [id, q] : queries_) {
    if (q->cancel) q->cancel->forget(q->cancel_token);
  }
}

bool BlockingQueries::add(uint64_t index, std::chrono::milliseconds wait,
                          std::shared_ptr<HttpCancelSignal> cancel, std::function<void()> ready) {
  if (queries_.size() >= max_) {
    ++refused_;
    return false;
  }
  const uint64_t id = next_id_++;
  auto q = std::make_unique<Query>(io_);
  q->by_index = by_index_.emplace(index, id);
  q->ready = std::move(ready);
  q->timer.expires_after(wait);
  // The timer's handler must not touch `this` when aborted: the query (and
  // this object) may be gone by then.
  q->timer.async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) finish(id, true);
  });
  Query& added = *q;
  queries_.emplace(id, std::move(q));
  size_.store(queries_.size(), std::memory_order_release);
  if (cancel) {
    added.cancel = cancel;
    // Runs at once if the client is already gone; `added` may be freed then.
    const auto token = cancel->on_cancel([this, id] { finish(id, false); });
    if (auto it = queries_.find(id); it != queries_.end()) it->second->cancel_token = token;
  }
  return true;
}

void BlockingQueries::wake(uint64_t index) {
  while (!by_index_.empty() && by_index_.begin()->first < index) {
    finish(by_index_.begin()->second, true);
  }
}

void BlockingQueries::wake_all() {
  while (!queries_.empty()) finish(queries_.begin()->first, true);
}

void BlockingQueries::finish(uint64_t id, bool call) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  std::unique_ptr<Query> q = std::move(it->second);
  queries_.erase(it);
  by_index_.erase(q->by_index);
  size_.store(queries_.size(), std::memory_order_release);
  q->timer.cancel();
  if (q->cancel) q->cancel->forget(q->cancel_token);
  // Called after the query is forgotten: `ready` may add another.
  if (call) q->ready();
}

}  // namespace shoal::node
