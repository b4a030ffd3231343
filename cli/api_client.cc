#include "cli/api_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli/command.h"

namespace shoal::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::optional<std::string>& token_flag() {
  static std::optional<std::string> token;
  return token;
}

}  // namespace

void set_token_flag(std::optional<std::string> token) { token_flag() = std::move(token); }

std::string ApiResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<ApiClient> ApiClient::from_env() {
  const char* env = std::getenv("SHOAL_ADDR");  // NOLINT(concurrency-mt-unsafe)
  auto client = parse(env != nullptr && *env != '\0' ? std::string_view(env) : kDefaultAgentAddr);
  if (!client.is_ok()) return client;
  std::string token;
  if (token_flag().has_value()) {
    token = *token_flag();
  } else if (const char* t = std::getenv("SHOAL_TOKEN")) {  // NOLINT(concurrency-mt-unsafe)
    token = t;
  }
  if (Status st = client->set_token(std::move(token)); !st.is_ok()) {
    return Status::invalid_argument(
        std::string(token_flag().has_value() ? "--token" : "$SHOAL_TOKEN") + ": " + st.message());
  }
  return client;
}

Status ApiClient::set_token(std::string token) {
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return Status::invalid_argument(
          "the API token must not contain spaces or control characters");
    }
  }
  token_ = std::move(token);
  return Status::ok();
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
  return request(HttpMethod::kGet, target, {}, {}, timeout);
}

Result<ApiResponse> ApiClient::post(const std::string& target, const std::string& body,
                                    std::chrono::milliseconds timeout) const {
  return request(HttpMethod::kPost, target, body, "application/json", timeout);
}

Result<ApiResponse> ApiClient::put(const std::string& target, const std::string& body,
                                   const std::string& content_type,
                                   std::chrono::milliseconds timeout) const {
  return request(HttpMethod::kPut, target, body, content_type, timeout);
}

Result<ApiResponse> ApiClient::del(const std::string& target,
                                   std::chrono::milliseconds timeout) const {
  return request(HttpMethod::kDelete, target, {}, {}, timeout);
}

Result<ApiResponse> ApiClient::request(HttpMethod method, const std::string& target,
                                       const std::string& body, const std::string& content_type,
                                       std::chrono::milliseconds timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  const auto unreachable = [&](const beast::error_code& e) {
    std::string why = e == beast::error::timeout ? "timed out" : e.message();
    if (e == http::error::body_limit) {
      why = "the answer is larger than " + std::to_string(kMaxResponseBytes >> 20) + " MiB";
    }
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

  http::verb verb = http::verb::get;
  switch (method) {
    case HttpMethod::kGet:
      verb = http::verb::get;
      break;
    case HttpMethod::kPost:
      verb = http::verb::post;
      break;
    case HttpMethod::kPut:
      verb = http::verb::put;
      break;
    case HttpMethod::kDelete:
      verb = http::verb::delete_;
      break;
  }
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "shoal-cli");
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  req.keep_alive(false);
  if (method == HttpMethod::kPost || method == HttpMethod::kPut || !body.empty()) {
    req.set(http::field::content_type, content_type.empty() ? "application/json" : content_type);
    req.body() = body;
    req.prepare_payload();
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  beast::flat_buffer buffer;
  http::async_write(stream, req, [&](const beast::error_code& e, size_t) {
    ec = e;
    if (e) return;
    http::async_read(stream, buffer, parser, [&](const beast::error_code& e2, size_t) { ec = e2; });
  });
  io.restart();
  io.run();
  if (ec) return unreachable(ec);
  auto res = parser.release();
  ApiResponse out{res.result_int(), std::move(res.body()), {}};
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  return out;
}

std::string percent_encode_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

int report_api_error(const ApiResponse& response) {
  std::string message;
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    message = j["error"].get<std::string>();
  } else {
    message = "the agent answered HTTP " + std::to_string(response.status);
  }
  if (response.status == 504 && message.find("may or may not") == std::string::npos) {
    message += " (the outcome is unknown: a write may or may not have been applied)";
  }
  if (response.status == 503) {
    const std::string retry = response.header("retry-after");
    if (!retry.empty() && retry.find_first_not_of("0123456789") == std::string::npos) {
      message += " (retry after " + retry + "s)";
    } else if (!retry.empty()) {
      message += " (retry after " + retry + ")";
    }
  }
  return fail(response.status == 400 ? kExitUsage : kExitFailure, message);
}

int report_unreachable(const Status& status) { return fail(kExitFailure, status.message()); }

}  // namespace shoal::cli
