// Paces a server's accept loop after accept() errors. When accept() fails
// for lack of descriptors (EMFILE, ENFILE) or buffers, the pending connection
// stays in the backlog and the listener stays readable, so accepting again at
// once would spin a core and starve the loop. The HTTP, gossip and RPC
// servers use one of these each: after an error they wait `retry` before the
// next accept; the first error of a streak and the recovery are logged once.
// Runs on the server's io_context thread, like the server itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace shoal::node {

class AcceptBackoff {
 public:
  // `what` names the server in logs ("http", "gossip", "rpc").
  AcceptBackoff(boost::asio::io_context& io, std::string what,
                std::chrono::milliseconds retry = std::chrono::milliseconds(100));

  // accept() failed with `ec`: calls `again` after the pause, unless
  // cancel() comes first.
  void failed(const boost::system::error_code& ec, std::function<void()> again);
  // accept() succeeded: ends a streak of errors.
  void succeeded();
  // Drops a pending retry (the server is stopping).
  void cancel();

 private:
  boost::asio::steady_timer timer_;
  std::string what_;
  std::chrono::milliseconds retry_;
  bool failing_ = false;
};

}  // namespace shoal::node
