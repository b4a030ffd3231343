// KV HTTP request parsing and rendering (node/http/kv_http.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/http/kv_http.h"

namespace shoal::node {
namespace {

HttpRequest req(HttpMethod m, std::string key,
                std::map<std::string, std::string, std::less<>> q = {}, std::string body = "") {
  HttpRequest r;
  r.method = m;
  r.params["key"] = std::move(key);
  r.query = std::move(q);
  r.body = std::move(body);
  return r;
}

const KvHttpRequest& ok(const std::variant<KvHttpRequest, HttpResponse>& v) {
  if (const auto* e = std::get_if<HttpResponse>(&v)) ADD_FAILURE() << e->status << " " << e->body;
  return std::get<KvHttpRequest>(v);
}

HttpResponse err(const std::variant<KvHttpRequest, HttpResponse>& v) {
  if (std::holds_alternative<KvHttpRequest>(v)) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return std::get<HttpResponse>(v);
}

TEST(KvHttp, ParsesReadsWritesAndDeletes) {
  auto g = parse_kv_request(req(HttpMethod::get, "app/db"));
  EXPECT_EQ(ok(g).op, KvHttpRequest::Op::kGet);
  EXPECT_EQ(ok(g).key, "app/db");
  auto l = parse_kv_request(req(HttpMethod::get, "", {{"recurse", ""}}));
  EXPECT_EQ(ok(l).op, KvHttpRequest::Op::kList) << "a list may start at the root";
  auto p = parse_kv_request(req(HttpMethod::put, "a", {{"cas", "0"}}, "value"));
  EXPECT_EQ(ok(p).op, KvHttpRequest::Op::kPut);
  EXPECT_EQ(ok(p).cas, 0u);
  const scheduler::KvCommand c = ok(p).command();
  EXPECT_EQ(c.op, scheduler::KvCommand::Op::kPut);
  EXPECT_EQ(std::string(c.value.begin(), c.value.end()), "value");
  auto d = parse_kv_request(req(HttpMethod::delete_, "a/", {{"recurse", ""}}));
  EXPECT_EQ(ok(d).command().op, scheduler::KvCommand::Op::kDeleteTree);
  auto s = parse_kv_request(req(HttpMethod::get, "a", {{"stale", ""}, {"raw", ""}}));
  EXPECT_TRUE(ok(s).stale);
  EXPECT_TRUE(ok(s).raw);
}

TEST(KvHttp, BlockingQueryArguments) {
  auto b = parse_kv_request(req(HttpMethod::get, "a", {{"index", "42"}, {"wait", "10s"}}));
  EXPECT_EQ(ok(b).index, 42u);
  EXPECT_EQ(ok(b).wait, std::chrono::seconds(10));
  auto dflt = parse_kv_request(req(HttpMethod::get, "a", {{"index", "1"}}));
  EXPECT_EQ(ok(dflt).wait, kDefaultBlockingWait);
  auto capped = parse_kv_request(req(HttpMethod::get, "a", {{"index", "1"}, {"wait", "1h"}}));
  EXPECT_EQ(ok(capped).wait, kMaxBlockingWait);
  EXPECT_EQ(err(parse_kv_request(req(HttpMethod::get, "a", {{"wait", "1s"}}))).status, 400u);
  EXPECT_EQ(err(parse_kv_request(req(HttpMethod::get, "a", {{"index", "x"}}))).status, 400u);
  auto bad_wait =
      err(parse_kv_request(req(HttpMethod::get, "a", {{"index", "1"}, {"wait", "soon"}})));
  EXPECT_NE(bad_wait.body.find("\"field\":\"wait\""), std::string::npos) << bad_wait.body;
}

// Malformed numbers in the query are a 400 naming the parameter, never an
// exception (?wait=.s once answered 500 "internal error: stold").
TEST(KvHttp, MalformedQueryNumbersAre400NamingTheParameter) {
  const std::string huge_digits = "1" + std::string(5000, '0');
  for (const std::string& wait :
       {std::string(".s"), std::string("."), std::string("1..s"), huge_digits + "s",
        std::string("-1s"), std::string("9e9s"), std::string("99999999999999999999h")}) {
    std::variant<KvHttpRequest, HttpResponse> parsed = HttpResponse{};
    ASSERT_NO_THROW(
        parsed = parse_kv_request(req(HttpMethod::get, "p", {{"index", "1"}, {"wait", wait}})))
        << wait;
    HttpResponse e = err(parsed);
    EXPECT_EQ(e.status, 400u) << wait;
    auto body = nlohmann::json::parse(e.body, nullptr, false);
    EXPECT_EQ(body.value("field", ""), "wait") << e.body;
    EXPECT_TRUE(body.value("error", "").starts_with("wait: ")) << e.body;
  }
  for (const std::string& index :
       {huge_digits, std::string("-1"), std::string(""), std::string("1.5"), std::string("0x10")}) {
    HttpResponse e = err(parse_kv_request(req(HttpMethod::get, "p", {{"index", index}})));
    EXPECT_EQ(e.status, 400u) << index;
    EXPECT_NE(e.body.find("\"field\":\"index\""), std::string::npos) << e.body;
  }
  HttpResponse e = err(parse_kv_request(req(HttpMethod::put, "p", {{"cas", huge_digits}})));
  EXPECT_NE(e.body.find("\"field\":\"cas\""), std::string::npos) << e.body;
}

TEST(KvHttp, BadRequestsNameTheField) {
  struct Case {
    HttpRequest r;
    unsigned status;
    const char* field;
  } cases[] = {
      {req(HttpMethod::put, "a", {{"cas", "-1"}}), 400, "cas"},
      {req(HttpMethod::get, "a", {{"cas", "3"}}), 400, "cas"},
      {req(HttpMethod::put, "a", {{"recurse", ""}}), 400, "recurse"},
      {req(HttpMethod::delete_, "a", {{"recurse", ""}, {"cas", "1"}}), 400, "cas"},
      {req(HttpMethod::get, "a", {{"recurse", ""}, {"raw", ""}}), 400, "raw"},
      {req(HttpMethod::put, "", {}), 400, "key"},
      {req(HttpMethod::put, "/abs", {}), 400, "key"},
      {req(HttpMethod::put, std::string(513, 'k'), {}), 400, "key"},
      {req(HttpMethod::put, "big", {}, std::string(scheduler::kMaxValueBytes + 1, 'x')), 413,
       "value"},
  };
  for (const Case& c : cases) {
    HttpResponse e = err(parse_kv_request(c.r));
    EXPECT_EQ(e.status, c.status) << e.body;
    EXPECT_NE(e.body.find(std::string("\"field\":\"") + c.field + "\""), std::string::npos)
        << e.body;
  }
  EXPECT_EQ(err(parse_kv_request(req(HttpMethod::post, "a"))).status, 405u);
}

TEST(KvHttp, AGetWithABodyIs400) {
  const HttpResponse r = err(
      parse_kv_request(req(HttpMethod::get, "a/b", {{"index", "1"}}, std::string(1 << 20, 'x'))));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\"body\""), std::string::npos) << r.body;
}

TEST(KvHttp, WithoutBlockingQueryDropsIndexAndWaitOnly) {
  HttpRequest in;
  in.method = HttpMethod::get;
  in.target = "/v1/kv/a%2Fb?index=7&recurse&wait=10m&stale&x=a%26b&indexed=1";
  in.path = "/v1/kv/a%2Fb";
  in.query = {{"index", "7"}, {"recurse", ""}, {"wait", "10m"},
              {"stale", ""},  {"x", "a&b"},    {"indexed", "1"}};
  in.body = "ignored";
  in.forwarded_hops = 1;
  const HttpRequest out = without_blocking_query(in);
  EXPECT_EQ(out.target, "/v1/kv/a%2Fb?recurse&stale&x=a%26b&indexed=1");
  EXPECT_FALSE(out.query.contains("index"));
  EXPECT_FALSE(out.query.contains("wait"));
  EXPECT_TRUE(out.query.contains("recurse"));
  EXPECT_TRUE(out.body.empty());
  EXPECT_EQ(out.forwarded_hops, 1);
  HttpRequest only;
  only.target = "/v1/kv/k?index=1&wait=1s";
  EXPECT_EQ(without_blocking_query(only).target, "/v1/kv/k");
}

TEST(KvHttp, RendersEntriesRawListsAndOutcomes) {
  scheduler::KvEntry e{"a/b", {'h', 'i', 0xff}, 3, 7};
  KvHttpRequest get;
  get.op = KvHttpRequest::Op::kGet;
  HttpResponse one = render_kv_read(get, {e}, 9);
  EXPECT_EQ(one.status, 200u);
  auto j = nlohmann::json::parse(one.body);
  EXPECT_EQ(j["key"], "a/b");
  EXPECT_EQ(j["value"], "aGn/");
  EXPECT_EQ(j["create_index"], 3);
  EXPECT_EQ(j["modify_index"], 7);
  ASSERT_EQ(one.headers.size(), 1u);
  EXPECT_EQ(one.headers[0], (std::pair<std::string, std::string>{"X-Shoal-Index", "9"}));
  get.raw = true;
  HttpResponse raw = render_kv_read(get, {e}, 9);
  EXPECT_EQ(raw.body, std::string("hi\xff"));
  EXPECT_EQ(raw.content_type, "application/octet-stream");
  EXPECT_EQ(render_kv_read(get, {}, 9).status, 404u);
  KvHttpRequest list;
  list.op = KvHttpRequest::Op::kList;
  EXPECT_EQ(nlohmann::json::parse(render_kv_read(list, {e, e}, 9).body).size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(render_kv_write(scheduler::KvOutcome::kApplied, 10).body), true);
  EXPECT_EQ(render_kv_write(scheduler::KvOutcome::kCasFailed, 10).status, 409u);
  EXPECT_EQ(render_kv_write(scheduler::KvOutcome::kNotFound, 10).status, 404u);
  EXPECT_EQ(render_kv_write(scheduler::KvOutcome::kInvalid, 10).status, 400u);
}

}  // namespace
}  // namespace shoal::node
