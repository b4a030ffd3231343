// Routing for the agent's HTTP API (DESIGN.md §4). Requests and responses are
// plain values; a Router maps (method, path pattern) to a handler. A pattern
// is literal segments, ":name" for one segment, and a final "*name" for the
// rest of the path: "/v1/agent/health", "/v1/jobs/:job/versions",
// "/v1/kv/*key". Handlers answer through a callback so that later endpoints
// can answer asynchronously (forwarding to the Raft leader, blocking
// queries); most use the synchronous overload. Errors are JSON:
// {"error": "...", "field": "..."}.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"

namespace shoal::node {

using HttpMethod = boost::beast::http::verb;

// Tells a handler that its answer is no longer wanted: the client closed its
// connection while the request was being handled. A handler that waits long
// (a blocking query, later any long poll) registers a callback and drops its
// state at once rather than at the end of its wait; it then need not call
// its HttpRespond. The HTTP server creates one per request and, once the
// answer is written, clear()s it, so that no callback outlives its request.
// Thread-safe; callbacks run on the thread that calls cancel() (the
// server's), never under the signal's lock.
class HttpCancelSignal {
 public:
  using Token = uint64_t;
  // Runs `f` once when the request is cancelled; at once, on this thread, if
  // it already was. The token lets the handler forget() it when it answers.
  Token on_cancel(std::function<void()> f);
  void forget(Token token);
  bool cancelled() const;

  // Server side. cancel(): marks the request cancelled and runs the
  // callbacks. clear(): the request was answered; drops the callbacks
  // unrun (they may hold the handler's state).
  void cancel();
  void clear();

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  Token next_ = 1;
  std::map<Token, std::function<void()>> callbacks_;
};

struct HttpRequest {
  HttpMethod method = HttpMethod::get;
  std::string target;                                      // as received: path and query
  std::string path;                                        // the target before '?', not decoded
  std::map<std::string, std::string, std::less<>> query;   // decoded; "?recurse" -> {"recurse", ""}
  std::map<std::string, std::string, std::less<>> params;  // from the route pattern, decoded
  boost::beast::http::fields headers;
  std::string body;
  std::string remote;  // "ip:port" of the client, for logs
  // >0: another agent forwarded this request over the authenticated RPC
  // channel (node/cluster/cluster_rpc.h); it was already authorised there.
  uint8_t forwarded_hops = 0;
  // Set by the HTTP server: fires when the client goes away. Null for
  // requests that have no client connection (forwarded ones, tests).
  std::shared_ptr<HttpCancelSignal> cancel;
  // Set once the request had to wait for a Raft leader (node/agent_cluster):
  // when that wait ends, however often it is dispatched again.
  std::optional<TimePoint> leader_wait_until;  // on the agent's Clock (core/time.h)

  // A path parameter or query argument, if present.
  std::optional<std::string_view> param(std::string_view name) const;
  std::optional<std::string_view> query_value(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. X-Shoal-Index

  // The body is the JSON text of value.
  static HttpResponse json(unsigned status, const nlohmann::json& value);
  // {"error": message, "field": field}; field is left out when empty.
  static HttpResponse error(unsigned status, std::string_view message, std::string_view field = {});
};

// Called exactly once per request with the answer; safe from any thread.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
using HttpAsyncHandler = std::function<void(const HttpRequest&, HttpRespond)>;

class Router {
 public:
  // A malformed pattern or a second handler for the same method and pattern
  // is a programming error and aborts.
  void add(HttpMethod method, std::string_view pattern, HttpHandler handler);
  void add_async(HttpMethod method, std::string_view pattern, HttpAsyncHandler handler);

  // --api-token: from now on every request but those to `open_paths` (exact
  // paths, e.g. "/v1/agent/health") and forwarded ones must carry
  // "Authorization: Bearer <token>" (the scheme in any case, RFC 7235);
  // others are answered 403.
  void require_token(std::string token, std::vector<std::string> open_paths);

  // The token check alone, on what a request header carries: the 403 to send,
  // or nullopt when the request may go on. The HTTP server calls it as soon
  // as a header is complete, so that a client without the token cannot make
  // the agent read its body; dispatch() checks again. Forwarded requests
  // (forwarded_hops > 0) were authorised by the RPC channel's cluster key.
  std::optional<HttpResponse> check_token(std::string_view target,
                                          const boost::beast::http::fields& headers,
                                          uint8_t forwarded_hops = 0) const;

  // Parses the target, picks the first matching route in the order added and calls its handler,
  // which answers through respond. Without a route: 400 for a malformed target, 404 for an unknown
  // path, 405 (with Allow) when only the method is wrong. A handler that throws answers a generic
  // 500 {"error": "internal error"} (the exception's text goes to the log, never to the client).
  void dispatch(HttpRequest request, HttpRespond respond) const;

 private:
  struct Segment {
    enum class Kind { kLiteral, kParam, kRest } kind;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    HttpMethod method;
    std::string pattern;
    std::vector<Segment> segments;
    HttpAsyncHandler handler;
  };

  static std::vector<Segment> parse_pattern(std::string_view pattern);
  static bool match(const Route& route, const std::vector<std::string_view>& path_segments,
                    std::map<std::string, std::string, std::less<>>* params);

  bool authorised(std::string_view path, const boost::beast::http::fields& headers,
                  uint8_t forwarded_hops) const;

  std::vector<Route> routes_;
  std::string token_;
  std::vector<std::string> open_paths_;
};

// Percent-decodes one URL component; nullopt when malformed. In query
// strings '+' means a space; in paths it is a plus.
std::optional<std::string> url_decode(std::string_view text, bool plus_is_space = false);

}  // namespace shoal::node
