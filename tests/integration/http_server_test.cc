// node::HttpServer in process, on real loopback sockets (127.0.2.20, a free
// port per test): routing, keep-alive, limits, timeouts and shutdown.
#include "node/http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

namespace asio = boost::asio;
using boost::beast::http::verb;
using node::HttpMethod;
using node::HttpRequest;
using node::HttpResponse;

constexpr const char* kHost = "127.0.2.20";

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : router_(std::make_shared<node::Router>()) {
    router_->add(HttpMethod::get, "/v1/ping", [](const HttpRequest&) {
      return HttpResponse::json(200, {{"pong", true}});
    });
    router_->add(HttpMethod::get, "/v1/jobs/:job/versions", [](const HttpRequest& req) {
      return HttpResponse::json(200, {{"job", std::string(*req.param("job"))}});
    });
    router_->add(HttpMethod::get, "/v1/kv/*key", [](const HttpRequest& req) {
      nlohmann::json j = {{"key", std::string(*req.param("key"))},
                          {"recurse", req.query_value("recurse").has_value()}};
      if (auto v = req.query_value("cas")) j["cas"] = std::string(*v);
      return HttpResponse::json(200, j);
    });
    router_->add(HttpMethod::put, "/v1/kv/*key", [](const HttpRequest& req) {
      return HttpResponse::json(200, {{"size", req.body.size()}});
    });
    router_->add(HttpMethod::get, "/v1/throws",
                 [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    router_->add(HttpMethod::get, "/v1/bad", [](const HttpRequest&) {
      return HttpResponse::error(400, "count: must be > 0", "count");
    });
    // Answers only when the test says so (from the test's thread).
    router_->add_async(HttpMethod::get, "/v1/slow",
                       [this](const HttpRequest&, node::HttpRespond respond) {
                         std::lock_guard lock(mu_);
                         slow_respond_ = std::move(respond);
                         slow_called_.set_value();
                       });
  }

  // Starts the server on a free port and runs its io_context on a thread.
  void start(node::HttpServerOptions options = {}) {
    server_ = std::make_unique<node::HttpServer>(io_, router_, options);
    Status st = server_->listen({asio::ip::make_address(kHost), 0});
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    port_ = server_->local_endpoint().port();
    ASSERT_NE(port_, 0);
    runner_ = std::thread([this] { io_.run(); });
  }

  // Runs f on the server's thread and waits for it.
  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  ~HttpServerTest() override {
    if (runner_.joinable()) {
      on_io([&] { server_->stop(); });
      runner_.join();
    }
  }

  asio::io_context io_;
  std::shared_ptr<node::Router> router_;
  std::unique_ptr<node::HttpServer> server_;
  std::thread runner_;
  uint16_t port_ = 0;

  std::mutex mu_;
  node::HttpRespond slow_respond_;
  std::promise<void> slow_called_;
};

nlohmann::json body_json(const std::optional<HttpResult>& r) {
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

TEST_F(HttpServerTest, RoutesPatternsAndDecodesParamsAndQueries) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto r = http_get(kHost, port_, "/v1/jobs/web%2D1/versions");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(body_json(r), nlohmann::json({{"job", "web-1"}}));

  r = http_get(kHost, port_, "/v1/kv/app/config%20x?recurse&cas=7");
  EXPECT_EQ(body_json(r),
            nlohmann::json({{"key", "app/config x"}, {"recurse", true}, {"cas", "7"}}));
  r = http_get(kHost, port_, "/v1/kv/a+b?cas=1+2");
  EXPECT_EQ(body_json(r), nlohmann::json({{"key", "a+b"}, {"recurse", false}, {"cas", "1 2"}}));

  // An empty parameter or rest does not match.
  EXPECT_EQ(http_get(kHost, port_, "/v1/jobs//versions")->status, 404u);
  EXPECT_EQ(http_get(kHost, port_, "/v1/kv/")->status, 404u);
  EXPECT_EQ(http_get(kHost, port_, "/v1/ping/extra")->status, 404u);
  EXPECT_EQ(http_get(kHost, port_, "/v1/kv/%zz")->status, 404u);
  EXPECT_EQ(http_get(kHost, port_, "/v1/ping?x=%zz")->status, 400u);
}

TEST_F(HttpServerTest, ErrorsAreJson) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto r = http_get(kHost, port_, "/v1/x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404u);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(body_json(r), nlohmann::json({{"error", "no such endpoint: /v1/x"}}));

  r = http_request(kHost, port_, verb::delete_, "/v1/kv/k");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(r->header("allow"), "GET, PUT");
  EXPECT_EQ(body_json(r)["error"], "method DELETE is not allowed on /v1/kv/k");

  r = http_get(kHost, port_, "/v1/bad");
  EXPECT_EQ(body_json(r), nlohmann::json({{"error", "count: must be > 0"}, {"field", "count"}}));

  r = http_get(kHost, port_, "/v1/throws");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500u);
  // The exception's text goes to the log, never to the client.
  EXPECT_EQ(body_json(r), nlohmann::json({{"error", "internal error"}}));
  EXPECT_EQ(r->body.find("boom"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection c;
  ASSERT_TRUE(c.connect(kHost, port_));
  for (int i = 0; i < 5; ++i) {
    auto r = c.request(verb::get, "/v1/ping");
    ASSERT_TRUE(r.has_value()) << "request " << i;
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(on_io([&] { return server_->connection_count(); }), 1u);

  // "Connection: close" is honoured.
  auto last = c.request(verb::get, "/v1/ping", {}, /*keep_alive=*/false);
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->keep_alive);
  EXPECT_TRUE(c.closed_by_peer(2s));
}

TEST_F(HttpServerTest, BodiesOverTheLimitAre413) {
  node::HttpServerOptions options;
  options.body_limit = 1024;
  ASSERT_NO_FATAL_FAILURE(start(options));

  HttpConnection ok;
  ASSERT_TRUE(ok.connect(kHost, port_));
  auto r = ok.request(verb::put, "/v1/kv/k", std::string(1024, 'x'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(body_json(r), nlohmann::json({{"size", 1024}}));

  // Refused on the declared length, before the body is read.
  HttpConnection big;
  ASSERT_TRUE(big.connect(kHost, port_));
  ASSERT_TRUE(big.send_raw("PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n"));
  r = big.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(big.closed_by_peer(2s));
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection c;
  ASSERT_TRUE(c.connect(kHost, port_));
  ASSERT_TRUE(c.send_raw("GET /v1/ping HTTP/1.1\r\nContent-Length: nope\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400u);
  EXPECT_TRUE(c.closed_by_peer(2s));
}

TEST_F(HttpServerTest, IdleAndStalledConnectionsTimeOut) {
  node::HttpServerOptions options;
  options.read_timeout = 200ms;
  ASSERT_NO_FATAL_FAILURE(start(options));

  HttpConnection idle;
  ASSERT_TRUE(idle.connect(kHost, port_));
  HttpConnection stalled;
  ASSERT_TRUE(stalled.connect(kHost, port_));
  ASSERT_TRUE(stalled.send_raw("GET /v1/ping HTTP/1.1\r\nHost: t\r\n"));  // never finished
  HttpConnection after_request;
  ASSERT_TRUE(after_request.connect(kHost, port_));
  ASSERT_TRUE(after_request.request(verb::get, "/v1/ping").has_value());

  EXPECT_TRUE(idle.closed_by_peer(5s));
  EXPECT_TRUE(stalled.closed_by_peer(5s));
  EXPECT_TRUE(after_request.closed_by_peer(5s));
  EXPECT_TRUE(
      eventually([&] { return on_io([&] { return server_->connection_count(); }) == 0; }, 5s));
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsAndFinishesRequestsInFlight) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection idle;
  ASSERT_TRUE(idle.connect(kHost, port_));
  ASSERT_TRUE(idle.request(verb::get, "/v1/ping").has_value());

  HttpConnection busy;
  ASSERT_TRUE(busy.connect(kHost, port_));
  ASSERT_TRUE(busy.send_raw("GET /v1/slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(slow_called_.get_future().wait_for(5s), std::future_status::ready);

  on_io([&] {
    server_->stop();
    return 0;
  });
  EXPECT_TRUE(idle.closed_by_peer(2s));
  EXPECT_FALSE(HttpConnection().connect(kHost, port_, 1s)) << "still accepting after stop()";

  {
    std::lock_guard lock(mu_);
    slow_respond_(HttpResponse::json(200, {{"late", true}}));
  }
  auto r = busy.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200u);
  EXPECT_FALSE(r->keep_alive) << "a response after stop() must close the connection";
  EXPECT_TRUE(busy.closed_by_peer(2s));

  // Nothing is left on the io_context: run() returns by itself.
  auto done = std::async(std::launch::async, [&] { runner_.join(); });
  EXPECT_EQ(done.wait_for(5s), std::future_status::ready);
}

TEST_F(HttpServerTest, ListenErrorsNameTheAddress) {
  ASSERT_NO_FATAL_FAILURE(start());
  node::HttpServer second(io_, router_);
  Status st = second.listen({asio::ip::make_address(kHost), port_});
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(st.message(), std::string("cannot listen on ") + kHost + ":" + std::to_string(port_) +
                              ": Address already in use");
}

}  // namespace
}  // namespace shoal::testing
