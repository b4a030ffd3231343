// The agent's HTTP/1.1 server on Boost.Beast: one listening socket, one
// session per connection (keep-alive, a body limit, read and write timeouts),
// every request handed to a Router. It runs on the caller's io_context; the
// agent drives that context from a single thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "node/http_router.h"

namespace shoal::node {

struct HttpServerOptions {
  size_t body_limit = 1 << 20;  // larger request bodies are answered 413
  // Exact paths that may send up to large_body_limit (PUT /v1/snapshot).
  std::vector<std::string> large_body_paths = {"/v1/snapshot"};
  size_t large_body_limit = 8 << 20;
  size_t header_limit = 16 << 10;  // larger request headers are answered 431
  // Time to receive one whole request; also how long an idle keep-alive
  // connection stays open.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  // After stop(), how long a response already being handled may take.
  std::chrono::milliseconds shutdown_grace{2'000};
  size_t max_connections = 1024;  // beyond this, new connections are closed at once
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, std::shared_ptr<const Router> router,
             HttpServerOptions options = {});
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // stop()s

  // Binds (port 0 picks a free port), listens and starts accepting.
  [[nodiscard]] Status listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound address; meaningful after a successful listen().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting, closes idle connections, and lets requests already being
  // handled finish (with "Connection: close") within shutdown_grace. Once
  // they have, the server holds no more work on the io_context. Idempotent;
  // call it on the io_context's thread.
  void stop();

  // Open connections (for tests and metrics).
  size_t connection_count() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace shoal::node
