// A small HTTP/1.1 client for the chaos clients and the tool's own queries.
// It keeps one connection alive and reconnects when needed, and tells apart
// the outcomes the history must distinguish: the request never reached the
// agent (cannot connect: a definite failure), the agent answered (a status
// code), or the request was sent and then the connection was lost or the
// answer did not come in time (the outcome is unknown).
//
// Connections leave from 127.0.0.1, outside the agents' 127.0.X.N block, so
// the partition rules between agent addresses never match client traffic.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::chaos {

struct HttpOutcome {
  enum class Kind {
    kResponse,       // the agent answered: see status and body
    kConnectFailed,  // refused or no connection: the request was never sent
    kLost,           // sent (at least partly), then the connection broke
    kTimeout,        // sent, and no complete answer before the deadline
  };
  Kind kind = Kind::kConnectFailed;
  unsigned status = 0;
  std::string body;
  std::string error;  // what went wrong, for kinds other than kResponse

  // "200", "refused: ...", "timeout", "lost: ..." for the history.
  std::string describe() const;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request; the whole exchange (connect, send, receive) must finish
  // within timeout.
  HttpOutcome request(boost::beast::http::verb method, const std::string& target,
                      const std::string& body, std::chrono::milliseconds timeout);
  // Drops the connection (the next request opens a new one).
  void close();

  const std::string& host() const { return host_; }

 private:
  // True when the kept connection is still usable (the agent has not closed
  // or reset it while it was idle).
  bool idle_connection_usable();

  std::string host_;
  uint16_t port_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

// One request on a fresh client.
HttpOutcome http_once(const std::string& host, uint16_t port, boost::beast::http::verb method,
                      const std::string& target, std::chrono::milliseconds timeout);

// Standard base64 (with padding) decoded; nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace shoal::chaos
