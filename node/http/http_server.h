// The agent's HTTP/1.1 server on Boost.Beast: one listening socket, one
// session per connection (keep-alive, a body limit, read and write timeouts),
// every request handed to a Router. It runs on the caller's io_context; the
// agent drives that context from a single thread.
//
// Before a request reaches its handler: the API token (Router::check_token)
// is checked as soon as the header is complete, before any body byte is
// read; the header is at most header_limit bytes, the body at most
// body_limit. While a handler works, the server watches the connection and
// fires the request's HttpCancelSignal if the client goes away.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "node/http/http_router.h"

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
  // Beyond this, new connections are closed at once. The agent lowers it to
  // fit its file descriptors: http_connection_cap().
  size_t max_connections = 1024;
};

// The HTTP connection cap of an agent allowed `fd_soft_limit` open files
// (RLIMIT_NOFILE's soft limit): min(configured, max(kMinHttpConnections,
// fd_soft_limit / 4)). A quarter of the descriptors at most, so that a flood
// of HTTP clients leaves the rest to RocksDB, the gossip and RPC streams, and
// the sockets accept() takes beyond the cap only to close them. At the usual
// soft limit of 1024 that is 256; at 65536 the configured 1024.
inline constexpr size_t kMinHttpConnections = 16;
size_t http_connection_cap(size_t configured, uint64_t fd_soft_limit);
// The same for this process's soft limit now (getrlimit); unlimited or
// unknown: `configured`.
size_t http_connection_cap(size_t configured);

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

  // Open connections, the cap, and connections closed at once because the
  // cap was reached (for tests and metrics; on the io_context's thread).
  size_t connection_count() const;
  size_t max_connections() const;
  uint64_t connections_refused() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace shoal::node
