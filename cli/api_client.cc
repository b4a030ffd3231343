#include "cli/api_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/command.h"

namespace shoal::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<ApiClient> ApiClient::from_env() {
  const char* env = std::getenv("SHOAL_ADDR");  // NOLINT(concurrency-mt-unsafe)
  return parse(env != nullptr && *env != '\0' ? std::string_view(env) : kDefaultAgentAddr);
}

Result<ApiClient> ApiClient::parse(std::string_view addr) {
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument("$SHOAL_ADDR \"" + std::string(addr) +
                                    "\" is not http://HOST:PORT (" + std::string(why) + ")");
  };
  std::string_view rest = addr;
  if (rest.starts_with("https://")) return bad("https is not supported yet");
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  ApiClient c;
  c.port_ = 7780;
  std::string_view host = rest;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    const size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
  }
  if (!rest.empty()) {
    if (!rest.starts_with(':')) return bad("unexpected text after the host");
    rest.remove_prefix(1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
    if (rest.empty() || ec != std::errc() || ptr != rest.data() + rest.size() || port == 0 ||
        port > 65535) {
      return bad("bad port");
    }
    c.port_ = static_cast<uint16_t>(port);
  }
  if (host.empty()) return bad("no host");
  c.host_ = std::string(host);
  return c;
}

std::string ApiClient::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Result<ApiResponse> ApiClient::get(const std::string& target,
                                   std::chrono::milliseconds timeout) const {
  return request(false, target, {}, timeout);
}

Result<ApiResponse> ApiClient::post(const std::string& target, const std::string& body,
                                    std::chrono::milliseconds timeout) const {
  return request(true, target, body, timeout);
}

Result<ApiResponse> ApiClient::request(bool post, const std::string& target,
                                       const std::string& body,
                                       std::chrono::milliseconds timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  const auto unreachable = [&](const beast::error_code& e) {
    std::string why = e == beast::error::timeout ? "timed out" : e.message();
    return Status::unavailable("cannot reach the agent at " + url() + ": " + why +
                               " (is `shoal agent` running? set $SHOAL_ADDR to its address)");
  };

  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) return unreachable(ec);

  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](const beast::error_code& e, const auto&) { ec = e; });
  io.run();
  if (ec) return unreachable(ec);

  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "shoal-cli");
  req.keep_alive(false);
  if (post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  http::async_write(stream, req, [&](const beast::error_code& e, size_t) {
    ec = e;
    if (e) return;
    http::async_read(stream, buffer, res, [&](const beast::error_code& e2, size_t) { ec = e2; });
  });
  io.restart();
  io.run();
  if (ec) return unreachable(ec);
  return ApiResponse{res.result_int(), std::move(res.body())};
}

int report_api_error(const ApiResponse& response) {
  std::string message;
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    message = j["error"].get<std::string>();
  } else {
    message = "the agent answered HTTP " + std::to_string(response.status);
  }
  return fail(response.status == 400 ? kExitUsage : kExitFailure, message);
}

int report_unreachable(const Status& status) { return fail(kExitFailure, status.message()); }

}  // namespace shoal::cli
