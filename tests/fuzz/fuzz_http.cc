// Fuzzes the HTTP request path as a client drives it: Beast's parser on the
// raw bytes (with the agent's header and body limits), the token check on
// the header, then a Router with routes shaped like the agent's (the KV
// endpoints through parse_kv_request and the renderers, a path parameter,
// duration and integer query values). Nothing may crash, every request gets
// exactly one answer, and no answer is a 500 or carries "internal error":
// whatever a client sends is either served or refused with a 4xx.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "core/time.h"
#include "node/http/http_router.h"
#include "node/http/kv_http.h"

namespace {

namespace http = boost::beast::http;
using namespace shoal::node;

HttpResponse serve_kv(const HttpRequest& req) {
  auto parsed = parse_kv_request(req);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) return std::move(*bad);
  const auto& kv = std::get<KvHttpRequest>(parsed);
  if (kv.op == KvHttpRequest::Op::kGet || kv.op == KvHttpRequest::Op::kList) {
    shoal::scheduler::KvEntry e{kv.key.empty() ? "k" : kv.key, kv.value, 1, kv.index.value_or(1)};
    return render_kv_read(kv, {e}, kv.index.value_or(0) + 1);
  }
  (void)kv.command();
  return render_kv_write(shoal::scheduler::KvOutcome::kApplied, 2);
}

std::shared_ptr<Router> make_router(bool with_token) {
  auto r = std::make_shared<Router>();
  r->add(HttpMethod::get, "/v1/agent/health", [](const HttpRequest&) {
    return HttpResponse::json(200, {{"status", "ok"}});
  });
  r->add(HttpMethod::get, "/v1/kv", serve_kv);
  for (HttpMethod m : {HttpMethod::get, HttpMethod::put, HttpMethod::delete_}) {
    r->add(m, "/v1/kv/*key", serve_kv);
  }
  r->add(HttpMethod::get, "/v1/jobs/:job/versions", [](const HttpRequest& req) {
    return HttpResponse::json(200, {{"job", std::string(*req.param("job"))}});
  });
  // Query values as later endpoints read them: a duration and a count.
  r->add(HttpMethod::get, "/v1/wait", [](const HttpRequest& req) {
    nlohmann::json out = nlohmann::json::object();
    if (auto w = req.query_value("wait")) {
      auto d = shoal::parse_duration(*w);
      if (!d) return HttpResponse::error(400, "wait: " + d.status().message(), "wait");
      out["wait"] = shoal::format_duration(*d);
    }
    return HttpResponse::json(200, out);
  });
  r->add_async(HttpMethod::post, "/v1/async", [](const HttpRequest& req, HttpRespond respond) {
    respond(HttpResponse::json(200, {{"size", req.body.size()}}));
    respond(HttpResponse::error(500, "a second answer must be dropped"));
  });
  if (with_token) r->require_token("fuzz-token", {"/v1/agent/health"});
  return r;
}

void check(const HttpResponse& r) {
  if (r.status < 100 || r.status > 599 || r.status == 500) std::abort();
  if (r.body.find("internal error") != std::string::npos) std::abort();
  if (r.content_type == "application/json" &&
      nlohmann::json::parse(r.body, nullptr, false).is_discarded()) {
    std::abort();
  }
}

void route(const Router& router, const http::request<http::string_body>& msg) {
  HttpRequest req;
  req.method = msg.method();
  req.target = std::string(msg.target().data(), msg.target().size());
  req.headers = msg.base();
  req.body = msg.body();
  req.cancel = std::make_shared<HttpCancelSignal>();
  int answers = 0;
  router.dispatch(std::move(req), [&](HttpResponse r) {
    ++answers;
    check(r);
  });
  if (answers != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto open = make_router(false);
  static const auto closed = make_router(true);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (used > size) std::abort();
  if (ec == http::error::need_more) {
    // The whole input was the message: end of stream now.
    parser.put_eof(ec);
  }
  if (ec || !parser.is_header_done()) return 0;
  const auto& header = parser.get();
  const std::string_view target(header.target().data(), header.target().size());
  if (auto refused = closed->check_token(target, header)) {
    if (refused->status != 403) std::abort();
    check(*refused);
  }
  if (!parser.is_done() || header.method() == http::verb::unknown) return 0;
  const auto msg = parser.release();
  route(*open, msg);
  route(*closed, msg);
  return 0;
}
