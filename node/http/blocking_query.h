// Blocking queries on every list endpoint (DESIGN.md §4): one parser for
// `?index=N&wait=D`, one way to answer with X-Shoal-Index, and one way to
// serve a list that may block (serve_indexed). Which index a list carries
// depends on what backs it:
//   - lists of the replicated state (KV) carry a Raft index, the same on
//     every agent;
//   - lists of this agent's gossip view (/v1/members) and /v1/raft/peers,
//     which mixes the Raft configuration with the gossip view, carry a local
//     change counter: it only grows, moves whenever the list may have
//     changed, and means nothing on another agent.
// A client passes the last X-Shoal-Index it saw as `index`; the answer comes
// once the index has moved past it, or when `wait` ends (default 5 min, at
// most 10 min), with the list as it is then.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>

#include "node/http/http_router.h"

namespace shoal::node {

inline constexpr std::chrono::milliseconds kDefaultBlockingWait = std::chrono::minutes(5);
inline constexpr std::chrono::milliseconds kMaxBlockingWait = std::chrono::minutes(10);

struct BlockingQuery {
  uint64_t index = 0;              // answer once the list's index exceeds this
  std::chrono::milliseconds wait;  // or after this long
};

// nullopt when the request does not block (no index=); the 400 naming the
// field for a bad index= or wait=, or for a wait= without index=.
std::variant<std::optional<BlockingQuery>, HttpResponse> parse_blocking_query(
    const HttpRequest& request);

// Adds X-Shoal-Index: `index` and returns the response.
HttpResponse with_index(HttpResponse response, uint64_t index);

// The 429 for a query refused because `max` already wait on this agent.
HttpResponse too_many_blocking_queries(size_t max);

class BlockingQueries;

// Serves a list endpoint that may block: parses the blocking query, answers
// at once (render() with X-Shoal-Index = index()) when there is none or the
// index has already moved past it, else waits on `waiters`, which its owner
// wakes with the new index whenever it moves. On the agent's thread.
void serve_indexed(const HttpRequest& request, BlockingQueries& waiters,
                   std::function<uint64_t()> index, std::function<HttpResponse()> render,
                   HttpRespond respond);

}  // namespace shoal::node
