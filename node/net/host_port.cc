#include "node/net/host_port.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace shoal::node {
namespace {

Status bad(std::string_view text, std::string_view why) {
  return Status::invalid_argument("\"" + std::string(text) + "\" is not ADDR[:PORT] (" +
                                  std::string(why) + ")");
}

bool parse_port(std::string_view digits, uint16_t& out) {
  unsigned value = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end || value < 1 || value > 65535) {
    return false;
  }
  out = static_cast<uint16_t>(value);
  return true;
}

// Letters, digits, '-', '.', and ':' for IPv6.
bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text, uint16_t default_port) {
  HostPort out;
  out.port = default_port;
  std::string_view host = text;
  if (text.starts_with('[')) {
    // [v6] or [v6]:port
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':') || !parse_port(rest.substr(1), out.port)) {
        return bad(text, "bad port");
      }
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (!parse_port(text.substr(colon + 1), out.port)) {
      return bad(text, "the port must be 1-65535");
    }
  }
  // More than one colon without brackets: a bare IPv6 address.
  if (!valid_host(host)) return bad(text, "bad address");
  out.host = std::string(host);
  return out;
}

Result<std::string> resolve_ip(const std::string& host) {
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) return literal.to_string();
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_DGRAM;
  struct addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return Status::unavailable("cannot resolve \"" + host + "\": " + ::gai_strerror(rc));
  }
  std::string v4;
  std::string v6;
  for (const struct addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET && v4.empty()) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) v4 = buf;
    } else if (ai->ai_family == AF_INET6 && v6.empty()) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf) != nullptr) v6 = buf;
    }
  }
  ::freeaddrinfo(list);
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  return Status::unavailable("\"" + host + "\" has no address");
}

}  // namespace shoal::node
