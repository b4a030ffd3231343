// The KV endpoints' request and response shapes (DESIGN.md §4,
// GET/PUT/DELETE /v1/kv/<key>): parsing a request into what the state
// machine is asked, with a 400 naming the bad field, and rendering entries.
// Pure (no cluster, no sockets): the agent's handlers forward the parsed
// request to the Raft leader and render what comes back.
//
//   GET    /v1/kv/<key>             one entry as JSON; 404 if absent
//   GET    /v1/kv/<prefix>?recurse  every entry under the prefix (a JSON array)
//   GET    ...&raw                  the value's bytes alone (one key)
//   GET    ...&stale                read the local replica (no leader round trip)
//   GET    ...&index=N&wait=10s     blocking query: answer once the KV index passes N
//   PUT    /v1/kv/<key>[?cas=N]     body = value; answers `true`, or 409 on a failed cas
//   DELETE /v1/kv/<key>[?cas=N]     answers `true`, or 409 on a failed cas
//   DELETE /v1/kv/<prefix>?recurse  deletes the subtree
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "node/http/blocking_query.h"
#include "node/http/http_router.h"
#include "scheduler/kv_state.h"

namespace shoal::node {

struct KvHttpRequest {
  enum class Op { kGet, kList, kPut, kDelete, kDeleteTree };
  Op op = Op::kGet;
  std::string key;  // decoded; a prefix for kList/kDeleteTree (may be empty for kList)
  std::vector<uint8_t> value;
  std::optional<uint64_t> cas;
  bool raw = false;
  bool stale = false;
  // Blocking query (GET only): wait until the KV index exceeds `index`, at
  // most `wait` (default 5 min, capped at 10 min).
  std::optional<uint64_t> index;
  std::chrono::milliseconds wait{0};

  // The state-machine command for a write (kPut, kDelete, kDeleteTree).
  scheduler::KvCommand command() const;
};

// `request.params["key"]` is the decoded rest of the path after /v1/kv/.
// Returns the parsed request, or the error response to send (400 with the
// field, 413 for an oversized value).
std::variant<KvHttpRequest, HttpResponse> parse_kv_request(const HttpRequest& request);

// The request without its blocking query (index= and wait= dropped from the
// target and the query; the rest of the target kept as sent) and without a
// body: what a read forwards once its local wait has ended, so that the
// leader answers at once instead of waiting a second time.
HttpRequest without_blocking_query(const HttpRequest& req);

// {"key", "value" (base64), "create_index", "modify_index"}.
nlohmann::json kv_entry_json(const scheduler::KvEntry& e);
// The response to a read: one entry (or its raw bytes), or a list; 404 when
// nothing matches. Sets X-Shoal-Index to `index`.
HttpResponse render_kv_read(const KvHttpRequest& req, const std::vector<scheduler::KvEntry>& found,
                            uint64_t index);
// The response to a write: 200 `true`, 409 `false`-with-error on a failed
// cas, 404 for a delete of nothing (Consul answers true; we say what
// happened), 400 for an invalid command.
HttpResponse render_kv_write(scheduler::KvOutcome outcome, uint64_t index);

}  // namespace shoal::node
