// The HTTP client every `shoal` subcommand but `agent` and `keygen` uses to
// talk to the local agent: $SHOAL_ADDR (default http://127.0.0.1:7780), one
// request per connection, JSON in and out, and the error reporting of
// DESIGN.md §3 (one "shoal: ..." line; exit 1 for the agent's errors and an
// unreachable agent, 2 for bad usage, including the agent's 400 answers).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal::cli {

inline constexpr std::string_view kDefaultAgentAddr = "http://127.0.0.1:7780";

struct ApiResponse {
  unsigned status = 0;
  std::string body;
};

class ApiClient {
 public:
  // From $SHOAL_ADDR: "http://HOST:PORT", "HOST:PORT" or "HOST" (port 7780).
  [[nodiscard]] static Result<ApiClient> from_env();
  [[nodiscard]] static Result<ApiClient> parse(std::string_view addr);

  // An unreachable agent or a timeout is kUnavailable with a message that
  // names the address and $SHOAL_ADDR.
  [[nodiscard]] Result<ApiResponse> get(const std::string& target,
                                        std::chrono::milliseconds timeout = kDefaultTimeout) const;
  [[nodiscard]] Result<ApiResponse> post(const std::string& target, const std::string& body,
                                         std::chrono::milliseconds timeout = kDefaultTimeout) const;

  // "http://127.0.0.1:7780".
  std::string url() const;

  static constexpr std::chrono::milliseconds kDefaultTimeout{30'000};

 private:
  Result<ApiResponse> request(bool post, const std::string& target, const std::string& body,
                              std::chrono::milliseconds timeout) const;
  std::string host_;
  uint16_t port_ = 0;
};

// Reports a non-2xx answer: the body's "error" (or the status) as one line,
// exit 2 for a 400 (the request was wrong), else 1.
int report_api_error(const ApiResponse& response);
// Reports a transport failure (exit 1).
int report_unreachable(const Status& status);

}  // namespace shoal::cli
