#include "node/net/accept_backoff.h"

#include <spdlog/spdlog.h>

namespace shoal::node {

AcceptBackoff::AcceptBackoff(boost::asio::io_context& io, std::string what,
                             std::chrono::milliseconds retry)
    : timer_(io), what_(std::move(what)), retry_(retry) {}

void AcceptBackoff::failed(const boost::system::error_code& ec, std::function<void()> again) {
  if (!failing_) {
    spdlog::warn("{}: accept failed: {}; retrying every {} ms", what_, ec.message(),
                 retry_.count());
  }
  failing_ = true;
  timer_.expires_after(retry_);
  timer_.async_wait([again = std::move(again)](const boost::system::error_code& e) {
    if (!e) again();
  });
}

void AcceptBackoff::succeeded() {
  if (failing_) spdlog::info("{}: accepting again", what_);
  failing_ = false;
}

void AcceptBackoff::cancel() { timer_.cancel(); }

}  // namespace shoal::node
