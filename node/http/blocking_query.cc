#include "node/http/blocking_query.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "core/time.h"
#include "node/http/blocking_queries.h"

namespace shoal::node {

std::variant<std::optional<BlockingQuery>, HttpResponse> parse_blocking_query(
    const HttpRequest& request) {
  const auto index = request.query_value("index");
  const auto wait = request.query_value("wait");
  if (!index) {
    if (wait) return HttpResponse::error(400, "wait needs index (a blocking query)", "wait");
    return std::optional<BlockingQuery>();
  }
  BlockingQuery q{0, kDefaultBlockingWait};
  auto [end, ec] = std::from_chars(index->data(), index->data() + index->size(), q.index);
  if (index->empty() || ec != std::errc() || end != index->data() + index->size()) {
    return HttpResponse::error(400, "index must be a non-negative integer", "index");
  }
  if (wait) {
    auto d = parse_duration(*wait);
    if (!d) return HttpResponse::error(400, "wait: " + d.status().message(), "wait");
    q.wait = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(*d), kMaxBlockingWait);
  }
  return std::optional<BlockingQuery>(q);
}

HttpResponse with_index(HttpResponse response, uint64_t index) {
  response.headers.emplace_back("X-Shoal-Index", std::to_string(index));
  return response;
}

HttpResponse too_many_blocking_queries(size_t max) {
  HttpResponse busy =
      HttpResponse::error(429,
                          "too many blocking queries wait on this agent (the most is " +
                              std::to_string(max) + "); retry later",
                          "index");
  busy.headers.emplace_back("Retry-After", "1");
  return busy;
}

void serve_indexed(const HttpRequest& request, BlockingQueries& waiters,
                   std::function<uint64_t()> index, std::function<HttpResponse()> render,
                   HttpRespond respond) {
  auto parsed = parse_blocking_query(request);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*bad));
    return;
  }
  auto answer = [index, render, respond] { respond(with_index(render(), index())); };
  const auto& query = std::get<std::optional<BlockingQuery>>(parsed);
  // Only the current index waits. Below it, the list has moved; above it, the
  // index is another agent's counter or from before this agent restarted, and
  // waiting could take the whole wait: answer now, and the client starts over
  // from the index it gets.
  if (!query || query->index != index()) {
    answer();
    return;
  }
  if (!waiters.add(query->index, query->wait, request.cancel, answer)) {
    respond(too_many_blocking_queries(waiters.max()));
  }
}

}  // namespace shoal::node
