// AsioHostExecutor: see asio_host_executor.h.
#include "node/consensus/asio_host_executor.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

namespace shoal::node {
namespace {

// A steady_timer armed at a TimePoint of the executor's clock. A wait that
// completes after it was re-armed or cancelled (its handler already queued)
// is recognised by its arming number and dropped, so cancel() holds even
// then; the number is shared with the handlers, which may outlive the timer.
class AsioHostTimer final : public HostTimer {
 public:
  AsioHostTimer(boost::asio::io_context& io, const Clock& clock)
      : timer_(io), clock_(clock), arming_(std::make_shared<uint64_t>(0)) {}
  ~AsioHostTimer() override { cancel(); }

  void arm(TimePoint at, std::function<void()> f) override {
    const uint64_t mine = ++*arming_;
    timer_.expires_after(std::max(at - clock_.now(), Duration::zero()));
    timer_.async_wait(
        [arming = arming_, mine, f = std::move(f)](const boost::system::error_code& ec) {
          if (!ec && *arming == mine) f();
        });
  }

  void cancel() override {
    ++*arming_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  const Clock& clock_;
  std::shared_ptr<uint64_t> arming_;
};

}  // namespace

AsioHostExecutor::AsioHostExecutor(boost::asio::io_context& io) : io_(io) {}

AsioHostExecutor::AsioHostExecutor()
    : owned_io_(std::make_unique<boost::asio::io_context>(1)), io_(*owned_io_) {}

AsioHostExecutor::~AsioHostExecutor() {
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void AsioHostExecutor::start() {
  if (!owned_io_ || thread_.joinable()) return;
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
}

bool AsioHostExecutor::join(std::function<void()> last) {
  if (!thread_.joinable()) return false;
  boost::asio::post(io_, std::move(last));
  work_.reset();
  thread_.join();
  return true;
}

void AsioHostExecutor::post(std::function<void()> f) { boost::asio::post(io_, std::move(f)); }

std::unique_ptr<HostTimer> AsioHostExecutor::make_timer() {
  return std::make_unique<AsioHostTimer>(io_, clock_);
}

}  // namespace shoal::node
