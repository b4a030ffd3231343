// The HTTP API's defences that need no socket: the token check on a header
// (node/http/http_router.h), the generic 500, the cancel signal, the connection
// cap derived from the descriptor limit (node/http/http_server.h) and the bounded
// set of blocking queries (node/http/blocking_queries.h).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "node/http/blocking_queries.h"
#include "node/http/http_router.h"
#include "node/http/http_server.h"

namespace shoal::node {
namespace {

using namespace std::chrono_literals;

HttpResponse dispatch(const Router& router, HttpRequest request) {
  std::optional<HttpResponse> answer;
  router.dispatch(std::move(request), [&](HttpResponse r) { answer = std::move(r); });
  EXPECT_TRUE(answer.has_value());
  return answer.value_or(HttpResponse{});
}

HttpRequest get(std::string target, std::string authorization = {}) {
  HttpRequest r;
  r.target = std::move(target);
  if (!authorization.empty()) {
    r.headers.set(boost::beast::http::field::authorization, authorization);
  }
  return r;
}

TEST(HttpToken, TheBearerSchemeIsCaseInsensitiveAndTheTokenExact) {
  Router router;
  router.add(HttpMethod::get, "/v1/x",
             [](const HttpRequest&) { return HttpResponse::json(200, 1); });
  router.add(HttpMethod::get, "/v1/agent/health",
             [](const HttpRequest&) { return HttpResponse::json(200, 1); });
  router.require_token("s3cret", {"/v1/agent/health"});

  for (const char* ok :
       {"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR s3cret", "Bearer   s3cret"}) {
    EXPECT_EQ(dispatch(router, get("/v1/x", ok)).status, 200u) << ok;
    EXPECT_FALSE(router.check_token("/v1/x?y", get("/v1/x", ok).headers)) << ok;
  }
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearers3cret", "Basic s3cret", "Bearer s3cre",
                          "Bearer s3cret2", "Bearer S3CRET", "s3cret", "Bearer\ts3cret"}) {
    EXPECT_EQ(dispatch(router, get("/v1/x", bad)).status, 403u) << bad;
    auto refused = router.check_token("/v1/x", get("/v1/x", bad).headers);
    ASSERT_TRUE(refused.has_value()) << bad;
    EXPECT_EQ(refused->status, 403u);
  }
  // Open paths and forwarded requests pass without it.
  EXPECT_FALSE(router.check_token("/v1/agent/health?x", get("/").headers));
  EXPECT_FALSE(router.check_token("/v1/x", get("/").headers, /*forwarded_hops=*/1));
  HttpRequest forwarded = get("/v1/x");
  forwarded.forwarded_hops = 1;
  EXPECT_EQ(dispatch(router, forwarded).status, 200u);
}

TEST(HttpRouter, AThrowingHandlerAnswersAGeneric500) {
  Router router;
  router.add(HttpMethod::get, "/v1/std",
             [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("stold secret"); });
  router.add(HttpMethod::get, "/v1/other", [](const HttpRequest&) -> HttpResponse { throw 42; });
  for (const char* target : {"/v1/std", "/v1/other"}) {
    HttpResponse r = dispatch(router, get(target));
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json({{"error", "internal error"}}))
        << r.body;
  }
}

TEST(HttpCancel, CallbacksRunOnceOnCancelAndNeverAfterClear) {
  HttpCancelSignal signal;
  int ran = 0;
  signal.on_cancel([&] { ++ran; });
  const auto forgotten = signal.on_cancel([&] { ran += 100; });
  signal.forget(forgotten);
  EXPECT_FALSE(signal.cancelled());
  signal.cancel();
  signal.cancel();
  EXPECT_TRUE(signal.cancelled());
  EXPECT_EQ(ran, 1);
  // Registered after the fact: runs at once.
  signal.on_cancel([&] { ++ran; });
  EXPECT_EQ(ran, 2);

  // clear() drops what the callbacks hold without running them.
  HttpCancelSignal answered;
  auto state = std::make_shared<int>(0);
  std::weak_ptr<int> watch = state;
  answered.on_cancel([state = std::move(state)] { ++*state; });
  EXPECT_FALSE(watch.expired());
  answered.clear();
  EXPECT_TRUE(watch.expired());
  answered.cancel();
}

TEST(HttpConnectionCap, AQuarterOfTheDescriptorsAtMost) {
  EXPECT_EQ(http_connection_cap(1024, 1024), 256u);
  EXPECT_EQ(http_connection_cap(1024, 4096), 1024u);
  EXPECT_EQ(http_connection_cap(1024, 1'048'576), 1024u);
  EXPECT_EQ(http_connection_cap(1024, 40), kMinHttpConnections);
  EXPECT_EQ(http_connection_cap(8, 40), 8u);
  EXPECT_EQ(http_connection_cap(1024, 0), kMinHttpConnections);
  // The process's own limit: never above a quarter of it.
  EXPECT_LE(http_connection_cap(1u << 30), std::max<size_t>(kMinHttpConnections, 1u << 30));
}

class BlockingQueriesTest : public ::testing::Test {
 protected:
  boost::asio::io_context io_;
  std::vector<int> called_;
  std::function<void()> call(int n) {
    return [this, n] { called_.push_back(n); };
  }
};

TEST_F(BlockingQueriesTest, WakesInIndexOrderOnlyThoseItPassed) {
  BlockingQueries q(io_, 10);
  ASSERT_TRUE(q.add(5, 1h, nullptr, call(5)));
  ASSERT_TRUE(q.add(3, 1h, nullptr, call(3)));
  ASSERT_TRUE(q.add(7, 1h, nullptr, call(7)));
  q.wake(5);  // passes 3 only
  EXPECT_EQ(called_, std::vector<int>({3}));
  q.wake(8);
  EXPECT_EQ(called_, std::vector<int>({3, 5, 7}));
  EXPECT_EQ(q.size(), 0u);
  // Their timers went with them: what is left to run (the aborted waits)
  // calls nothing, and nothing stays pending.
  io_.poll();
  EXPECT_EQ(called_, std::vector<int>({3, 5, 7}));
  EXPECT_TRUE(io_.stopped()) << "a timer is still pending";
}

TEST_F(BlockingQueriesTest, AnEndedWaitIsForgotten) {
  BlockingQueries q(io_, 10);
  ASSERT_TRUE(q.add(1, 0ms, nullptr, call(1)));
  ASSERT_TRUE(q.add(1, 0ms, nullptr, call(2)));
  EXPECT_EQ(q.size(), 2u);
  io_.run();  // only the two expired timers: returns once they ran
  EXPECT_EQ(called_.size(), 2u);
  EXPECT_EQ(q.size(), 0u);
  q.wake(100);
  EXPECT_EQ(called_.size(), 2u) << "an ended query was called again";
}

TEST_F(BlockingQueriesTest, ACancelledQueryIsDroppedUncalled) {
  BlockingQueries q(io_, 10);
  auto cancel = std::make_shared<HttpCancelSignal>();
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> watch = held;
  ASSERT_TRUE(q.add(1, 1h, cancel, [held = std::move(held)] { ++*held; }));
  ASSERT_TRUE(q.add(1, 1h, nullptr, call(2)));
  cancel->cancel();
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(watch.expired()) << "the cancelled query's state is still held";
  // Already cancelled when added: never kept.
  ASSERT_TRUE(q.add(1, 1h, cancel, call(3)));
  EXPECT_EQ(q.size(), 1u);
  q.wake(2);
  EXPECT_EQ(called_, std::vector<int>({2}));
}

TEST_F(BlockingQueriesTest, BeyondTheCapAddRefuses) {
  BlockingQueries q(io_, 2);
  auto cancel = std::make_shared<HttpCancelSignal>();
  ASSERT_TRUE(q.add(1, 1h, cancel, call(1)));
  ASSERT_TRUE(q.add(1, 1h, nullptr, call(2)));
  EXPECT_FALSE(q.add(1, 1h, nullptr, call(3)));
  EXPECT_EQ(q.refused(), 1u);
  EXPECT_EQ(q.size(), 2u);
  cancel->cancel();  // a slot is free again
  EXPECT_TRUE(q.add(1, 1h, nullptr, call(4)));
  q.wake_all();
  EXPECT_EQ(called_, std::vector<int>({2, 4}));
}

TEST_F(BlockingQueriesTest, AQueryMayAddAnotherWhenCalled) {
  BlockingQueries q(io_, 2);
  ASSERT_TRUE(q.add(1, 1h, nullptr, [&] {
    called_.push_back(1);
    EXPECT_TRUE(q.add(9, 1h, nullptr, call(9)));
  }));
  q.wake(2);
  EXPECT_EQ(called_, std::vector<int>({1}));
  EXPECT_EQ(q.size(), 1u);
}

TEST_F(BlockingQueriesTest, DestroyedWithQueriesWaitingCallsNone) {
  auto cancel = std::make_shared<HttpCancelSignal>();
  {
    BlockingQueries q(io_, 2);
    ASSERT_TRUE(q.add(1, 0ms, cancel, call(1)));
  }
  cancel->cancel();  // must not reach the destroyed set
  io_.run();         // the aborted timer must not either
  EXPECT_TRUE(called_.empty());
}

}  // namespace
}  // namespace shoal::node
