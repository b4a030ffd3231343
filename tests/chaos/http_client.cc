// HttpClient on Boost.Beast: async operations driven to completion on a
// private io_context, each bounded by the request's deadline.
#include "tests/chaos/http_client.h"

#include <poll.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace shoal::chaos {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kSourceAddress = "127.0.0.1";

}  // namespace

std::string HttpOutcome::describe() const {
  switch (kind) {
    case Kind::kResponse: {
      if (status / 100 == 2) return std::to_string(status);
      // The agent's {"error": "..."} says why, for people reading the history.
      std::string why = body.substr(0, 200);
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      return why.empty() ? std::to_string(status) : std::to_string(status) + " " + why;
    }
    case Kind::kConnectFailed:
      return "refused: " + error;
    case Kind::kLost:
      return "lost: " + error;
    case Kind::kTimeout:
      return "timeout";
  }
  return "?";
}

HttpClient::HttpClient(std::string host, uint16_t port)
    : host_(std::move(host)), port_(port), stream_(io_) {}

void HttpClient::close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  buffer_.clear();
  connected_ = false;
}

bool HttpClient::idle_connection_usable() {
  if (!connected_ || !stream_.socket().is_open()) return false;
  // An idle keep-alive connection has nothing to read; anything readable
  // (EOF, a reset, stray bytes) means the agent closed it or restarted.
  pollfd p{};
  p.fd = stream_.socket().native_handle();
  p.events = POLLIN | POLLRDHUP;
  return ::poll(&p, 1, 0) == 0;
}

HttpOutcome HttpClient::request(http::verb method, const std::string& target,
                                const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  HttpOutcome out;

  if (!idle_connection_usable()) {
    close();
    beast::error_code ec;
    const auto address = asio::ip::make_address(host_, ec);
    if (ec) {
      out.kind = HttpOutcome::Kind::kConnectFailed;
      out.error = "bad address " + host_;
      return out;
    }
    stream_.socket().open(tcp::v4(), ec);
    if (!ec) stream_.socket().bind(tcp::endpoint(asio::ip::make_address(kSourceAddress), 0), ec);
    if (ec) {
      close();
      out.kind = HttpOutcome::Kind::kConnectFailed;
      out.error = ec.message();
      return out;
    }
    beast::error_code connect_ec;
    stream_.expires_after(remaining());
    stream_.async_connect(tcp::endpoint(address, port_),
                          [&](beast::error_code e) { connect_ec = e; });
    io_.restart();
    io_.run();
    if (connect_ec) {
      close();
      out.kind = HttpOutcome::Kind::kConnectFailed;
      out.error = connect_ec.message();
      return out;
    }
    connected_ = true;
  }

  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, host_);
  req.keep_alive(true);
  if (!body.empty() || method == http::verb::put || method == http::verb::post) {
    req.body() = body;
    req.prepare_payload();
  }
  http::response<http::string_body> res;
  beast::error_code ec;
  stream_.expires_after(remaining());
  http::async_write(stream_, req, [&](beast::error_code e, size_t) { ec = e; });
  io_.restart();
  io_.run();
  if (!ec) {
    stream_.expires_after(remaining());
    http::async_read(stream_, buffer_, res, [&](beast::error_code e, size_t) { ec = e; });
    io_.restart();
    io_.run();
  }
  if (ec) {
    close();
    out.kind = ec == beast::error::timeout ? HttpOutcome::Kind::kTimeout : HttpOutcome::Kind::kLost;
    out.error = ec.message();
    return out;
  }
  if (!res.keep_alive()) close();
  out.kind = HttpOutcome::Kind::kResponse;
  out.status = res.result_int();
  out.body = std::move(res.body());
  return out;
}

HttpOutcome http_once(const std::string& host, uint16_t port, http::verb method,
                      const std::string& target, std::chrono::milliseconds timeout) {
  HttpClient c(host, port);
  auto r = c.request(method, target, {}, timeout);
  c.close();
  return r;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=') {
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const auto n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

}  // namespace shoal::chaos
