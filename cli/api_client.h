// The HTTP client every `shoal` subcommand but `agent` and `keygen` uses to
// talk to the local agent: $SHOAL_ADDR (default http://127.0.0.1:7780), one
// request per connection, JSON in and out, and the error reporting of
// DESIGN.md §3 (one "shoal: ..." line; exit 1 for the agent's errors and an
// unreachable agent, 2 for bad usage, including the agent's 400 answers).
//
// API token: every request carries "Authorization: Bearer T" when a token is
// known — the subcommand's --token flag (see set_token_flag) wins over
// $SHOAL_TOKEN.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal::cli {

inline constexpr std::string_view kDefaultAgentAddr = "http://127.0.0.1:7780";

struct ApiResponse {
  unsigned status = 0;
  std::string body;
  // Response headers, names in lower case ("retry-after", "x-shoal-index").
  std::map<std::string, std::string> headers;
  // The header's value, or "" when absent; lower_name in lower case.
  std::string header(const std::string& lower_name) const;
};

enum class HttpMethod { kGet, kPost, kPut, kDelete };

class ApiClient {
 public:
  // From $SHOAL_ADDR: "http://HOST:PORT", "HOST:PORT" or "HOST" (port 7780);
  // the token from the --token flag if one was given, else $SHOAL_TOKEN.
  [[nodiscard]] static Result<ApiClient> from_env();
  [[nodiscard]] static Result<ApiClient> parse(std::string_view addr);

  // An empty token sends no Authorization header. A token with control
  // characters or spaces is refused (invalid_argument).
  [[nodiscard]] Status set_token(std::string token);
  const std::string& token() const { return token_; }

  // An unreachable agent or a timeout is kUnavailable with a message that
  // names the address and $SHOAL_ADDR.
  [[nodiscard]] Result<ApiResponse> get(const std::string& target,
                                        std::chrono::milliseconds timeout = kDefaultTimeout) const;
  // A JSON body.
  [[nodiscard]] Result<ApiResponse> post(const std::string& target, const std::string& body,
                                         std::chrono::milliseconds timeout = kDefaultTimeout) const;
  [[nodiscard]] Result<ApiResponse> put(const std::string& target, const std::string& body,
                                        const std::string& content_type,
                                        std::chrono::milliseconds timeout = kDefaultTimeout) const;
  [[nodiscard]] Result<ApiResponse> del(const std::string& target,
                                        std::chrono::milliseconds timeout = kDefaultTimeout) const;
  // Any method; the body and its content type are sent when the body is not
  // empty or the method is POST or PUT.
  [[nodiscard]] Result<ApiResponse> request(
      HttpMethod method, const std::string& target, const std::string& body = {},
      const std::string& content_type = "application/json",
      std::chrono::milliseconds timeout = kDefaultTimeout) const;

  // "http://127.0.0.1:7780".
  std::string url() const;

  static constexpr std::chrono::milliseconds kDefaultTimeout{30'000};
  // The largest response body accepted (a snapshot can be large).
  static constexpr size_t kMaxResponseBytes = size_t{512} << 20;

 private:
  std::string host_;
  uint16_t port_ = 0;
  std::string token_;
};

// The --token flag's value for this process: ApiClient::from_env() prefers
// it over $SHOAL_TOKEN. main() sets it once the command line has parsed.
void set_token_flag(std::optional<std::string> token);

// "/v1/kv/" + percent_encode_path("a b/c") == "/v1/kv/a%20b/c": every byte but
// the unreserved characters (RFC 3986) and '/' is percent-encoded.
std::string percent_encode_path(std::string_view path);

// Reports a non-2xx answer: the body's "error" (or the status) as one line,
// exit 2 for a 400 (the request was wrong), else 1. A 503 (nothing was
// done) with Retry-After adds "(retry after Ns)"; a 504 says that the
// outcome is unknown (docs/api.md).
int report_api_error(const ApiResponse& response);
// Reports a transport failure (exit 1).
int report_unreachable(const Status& status);

}  // namespace shoal::cli
