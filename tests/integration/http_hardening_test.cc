// The HTTP API under hostile or careless clients (issue 11): the token is
// checked before a body is read, a client that goes away cancels its
// request, and blocking queries are bounded, counted and released. First
// node::HttpServer in process (127.0.23.1, free ports), then a real
// `shoal agent --dev` (127.0.24.N, ports 2824N).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "node/http/http_server.h"
#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

namespace asio = boost::asio;
using boost::beast::http::verb;
using node::HttpMethod;
using node::HttpRequest;
using node::HttpResponse;

// Sets RLIMIT_NOFILE's soft limit for the test (and the agents it starts),
// so that it behaves the same on a machine with a high limit and on a fresh
// one (1024); restores it after.
class ScopedFdLimit {
 public:
  explicit ScopedFdLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit next = saved_;
    next.rlim_cur = std::min(soft, saved_.rlim_max);
    setrlimit(RLIMIT_NOFILE, &next);
  }
  ScopedFdLimit(const ScopedFdLimit&) = delete;
  ScopedFdLimit& operator=(const ScopedFdLimit&) = delete;
  ~ScopedFdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// ---------------------------------------------------------------- in process

constexpr const char* kServerHost = "127.0.23.1";

class HttpHardeningServerTest : public ::testing::Test {
 protected:
  HttpHardeningServerTest() : router_(std::make_shared<node::Router>()) {
    router_->add(HttpMethod::get, "/v1/agent/health", [](const HttpRequest&) {
      return HttpResponse::json(200, {{"status", "ok"}});
    });
    router_->add(HttpMethod::put, "/v1/kv/*key", [this](const HttpRequest& req) {
      ++bodies_read_;
      return HttpResponse::json(200, {{"size", req.body.size()}});
    });
    // Answers only when the test says so; tells the test when its client goes away.
    router_->add_async(HttpMethod::get, "/v1/wait",
                       [this](const HttpRequest& req, node::HttpRespond respond) {
                         std::lock_guard lock(mu_);
                         if (req.cancel) {
                           req.cancel->on_cancel([this] { cancelled_.set_value(); });
                         }
                         held_ = std::move(respond);
                         waiting_.set_value();
                       });
  }

  void start(node::HttpServerOptions options = {}) {
    server_ = std::make_unique<node::HttpServer>(io_, router_, options);
    Status st = server_->listen({asio::ip::make_address(kServerHost), 0});
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    port_ = server_->local_endpoint().port();
    runner_ = std::thread([this] { io_.run(); });
  }

  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  size_t connections() {
    return on_io([&] { return server_->connection_count(); });
  }

  ~HttpHardeningServerTest() override {
    if (runner_.joinable()) {
      on_io([&] {
        std::lock_guard lock(mu_);
        held_ = nullptr;
        server_->stop();
        return 0;
      });
      runner_.join();
    }
  }

  asio::io_context io_;
  std::shared_ptr<node::Router> router_;
  std::unique_ptr<node::HttpServer> server_;
  std::thread runner_;
  uint16_t port_ = 0;
  std::atomic<int> bodies_read_{0};

  std::mutex mu_;
  node::HttpRespond held_;
  std::promise<void> waiting_;
  std::promise<void> cancelled_;
};

TEST_F(HttpHardeningServerTest, WithoutTheTokenA403ComesRightAfterTheHeader) {
  router_->require_token("T0ken", {"/v1/agent/health"});
  ASSERT_NO_FATAL_FAILURE(start());

  // A 1 MiB body announced, none sent: the answer must not wait for it.
  HttpConnection c;
  ASSERT_TRUE(c.connect(kServerHost, port_));
  ASSERT_TRUE(c.send_raw("PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.has_value()) << "no answer before the body";
  EXPECT_EQ(r->status, 403u);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_EQ(bodies_read_.load(), 0);

  // The scheme in any case; the token exact.
  for (const char* auth : {"Bearer T0ken", "bearer T0ken", "BEARER T0ken"}) {
    HttpConnection ok;
    ASSERT_TRUE(ok.connect(kServerHost, port_));
    ASSERT_TRUE(ok.send_raw(std::string("PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nAuthorization: ") +
                            auth + "\r\nContent-Length: 3\r\n\r\nabc"));
    auto answer = ok.read_response();
    ASSERT_TRUE(answer.has_value()) << auth;
    EXPECT_EQ(answer->status, 200u) << auth << ": " << answer->body;
  }
  HttpConnection wrong;
  ASSERT_TRUE(wrong.connect(kServerHost, port_));
  ASSERT_TRUE(
      wrong.send_raw("PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nauthorization: bearer t0ken\r\n"
                     "Content-Length: 1048576\r\n\r\n"));
  r = wrong.read_response(3s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403u);
  EXPECT_EQ(bodies_read_.load(), 3);
  // The open path needs none.
  EXPECT_EQ(http_get(kServerHost, port_, "/v1/agent/health")->status, 200u);
}

// A client that sent its body along with the header still reads the 403:
// the server drains what it will not read instead of closing on it (a close
// with unread bytes sends a reset, which destroys the answer in flight).
TEST_F(HttpHardeningServerTest, A403ReachesAClientThatAlreadySentItsBody) {
  router_->require_token("T0ken", {"/v1/agent/health"});
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 5; ++i) {
    HttpConnection c;
    ASSERT_TRUE(c.connect(kServerHost, port_));
    ASSERT_TRUE(c.send_raw("PUT /v1/kv/k HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n" +
                           std::string(256 << 10, 'b')));
    auto r = c.read_response(3s);
    ASSERT_TRUE(r.has_value()) << "the 403 was lost (attempt " << i << ")";
    EXPECT_EQ(r->status, 403u);
    EXPECT_TRUE(c.closed_by_peer(3s));
  }
  EXPECT_EQ(bodies_read_.load(), 0);
}

TEST_F(HttpHardeningServerTest, AClientThatGoesAwayCancelsItsRequest) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto c = std::make_unique<HttpConnection>();
  ASSERT_TRUE(c->connect(kServerHost, port_));
  ASSERT_TRUE(c->send_raw("GET /v1/wait HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(waiting_.get_future().wait_for(5s), std::future_status::ready);
  auto cancelled = cancelled_.get_future();
  EXPECT_EQ(cancelled.wait_for(0s), std::future_status::timeout);

  c.reset();  // closes the socket
  EXPECT_EQ(cancelled.wait_for(5s), std::future_status::ready) << "the handler was not told";
  // Its slot is free at once, even while the handler still holds its answer.
  EXPECT_TRUE(eventually([&] { return connections() == 0; }, 5s));
  on_io([&] {
    std::lock_guard lock(mu_);
    held_ = nullptr;
    return 0;
  });
  EXPECT_EQ(connections(), 0u);
}

TEST_F(HttpHardeningServerTest, APipelinedRequestIsNotAClientGoingAway) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpConnection c;
  ASSERT_TRUE(c.connect(kServerHost, port_));
  ASSERT_TRUE(
      c.send_raw("GET /v1/wait HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /v1/agent/health HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(waiting_.get_future().wait_for(5s), std::future_status::ready);
  auto cancelled = cancelled_.get_future();
  {
    std::lock_guard lock(mu_);
    held_(HttpResponse::json(200, {{"first", true}}));
  }
  auto first = c.read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "{\"first\":true}\n");
  auto second = c.read_response();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200u);
  EXPECT_EQ(cancelled.wait_for(0s), std::future_status::timeout);
}

// ---------------------------------------------------------------- a real agent

class HttpHardeningAgentTest : public ::testing::Test {
 protected:
  // `shoal agent --dev` on 127.0.24.N, HTTP port 2824N.
  void start_agent(int n, const std::vector<std::string>& extra = {}) {
    host_ = "127.0.24." + std::to_string(n);
    port_ = static_cast<uint16_t>(28240 + n);
    std::vector<std::string> argv{
        shoal_binary(), "agent", "--dev", "--bind", host_, "--http-port", std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    agent_ = std::make_unique<Process>(argv, logs_.path(),
                                       std::vector<std::string>{"TMPDIR=" + tmp_.path().string()});
    // Healthy and a leader: a first write goes through.
    const bool ready = eventually(
        [&] {
          if (!agent_->running()) return true;
          HttpConnection c;
          if (!c.connect(host_, port_, 1s)) return false;
          auto r = c.request(verb::put, "/v1/kv/p", "v", false, 2s);
          if (!r || r->status != 200) return false;
          index_ = r->header("x-shoal-index");
          return true;
        },
        20s, 100ms);
    ASSERT_TRUE(agent_->running()) << "agent exited:\n" << agent_->err();
    ASSERT_TRUE(ready) << "agent never took a write:\n" << agent_->err();
  }

  // The agent's open file descriptors: all of them, and its sockets alone
  // (RocksDB may open and close a file of its own meanwhile).
  struct Fds {
    size_t all = 0;
    size_t sockets = 0;
  };
  Fds open_fds() const {
    const auto dir = std::filesystem::path("/proc") / std::to_string(agent_->pid()) / "fd";
    Fds n;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n.all;
      std::error_code link_ec;
      const auto target = std::filesystem::read_symlink(it->path(), link_ec);
      if (!link_ec && target.string().starts_with("socket:")) ++n.sockets;
    }
    return n;
  }

  // Polls until the agent holds no more sockets than `before` (and not
  // more than a few other files); fails the test otherwise.
  void expect_fds_back_to(const Fds& before) {
    Fds now;
    const bool back = eventually(
        [&] {
          now = open_fds();
          return now.sockets <= before.sockets && now.all <= before.all + 4;
        },
        5s);
    EXPECT_TRUE(back) << now.sockets << " sockets and " << now.all
                      << " fds open; before: " << before.sockets << " and " << before.all;
  }

  // A metric's value from /v1/metrics; -1 when absent or unreadable.
  double metric(const std::string& name) {
    auto r = http_get(host_, port_, "/v1/metrics");
    if (!r || r->status != 200) return -1;
    std::istringstream in(r->body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    }
    return -1;
  }

  bool healthy() {
    auto r = http_get(host_, port_, "/v1/agent/health", 2s);
    return r && r->status == 200;
  }

  // Sends a blocking query on a new connection; the connection, or null.
  std::unique_ptr<HttpConnection> send_query(const std::string& target) {
    auto c = std::make_unique<HttpConnection>();
    if (!c->connect(host_, port_)) return nullptr;
    if (!c->send_raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n")) return nullptr;
    return c;
  }

  void TearDown() override {
    if (agent_ && agent_->running()) {
      agent_->send_signal(SIGTERM);
      auto st = agent_->wait_for(10s);
      EXPECT_TRUE(st && st->ok()) << agent_->err();
    }
  }

  ScopedFdLimit fd_limit_{1024};
  TempDir logs_;
  TempDir tmp_;
  std::unique_ptr<Process> agent_;
  std::string host_;
  uint16_t port_ = 0;
  std::string index_;  // X-Shoal-Index after the first write
};

// The probe of issue 11: blocking queries that end (their wait, or an index
// no log has reached) used to leave their session behind, and after about
// 1,024 of them the agent refused every new connection.
TEST_F(HttpHardeningAgentTest, EndedBlockingQueriesLeaveNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(start_agent(1));
  const Fds fds_before = open_fds();
  for (int i = 0; i < 1100; ++i) {
    // Alternately an index far beyond the log and the current one, both
    // with a wait that ends at once.
    const std::string index = i % 2 == 0 ? "18446744073709551615" : index_;
    auto r = http_get(host_, port_, "/v1/kv/p?stale&index=" + index + "&wait=0s");
    ASSERT_TRUE(r.has_value()) << "request " << i << " got no answer";
    ASSERT_EQ(r->status, 200u) << "request " << i << ": " << r->body;
  }
  EXPECT_TRUE(healthy());
  EXPECT_EQ(metric("shoal_http_blocking_queries"), 0);
  expect_fds_back_to(fds_before);
}

TEST_F(HttpHardeningAgentTest, WaitersBeyondTheCapAre429AndAllAreReleased) {
  ASSERT_NO_FATAL_FAILURE(start_agent(2, {"--http-max-blocking-queries", "8"}));
  const Fds fds_before = open_fds();
  EXPECT_EQ(metric("shoal_http_blocking_queries_max"), 8);

  std::vector<std::unique_ptr<HttpConnection>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(send_query("/v1/kv/p?index=" + index_ + "&wait=3s"));
    ASSERT_NE(clients.back(), nullptr) << "query " << i;
  }
  EXPECT_TRUE(eventually([&] { return metric("shoal_http_blocking_queries") == 8; }, 5s))
      << metric("shoal_http_blocking_queries");
  int ok = 0, busy = 0;
  for (auto& c : clients) {
    auto r = c->read_response(10s);
    ASSERT_TRUE(r.has_value());
    if (r->status == 200) {
      ++ok;
      EXPECT_EQ(r->header("x-shoal-index"), index_);
    } else {
      EXPECT_EQ(r->status, 429u) << r->body;
      auto body = nlohmann::json::parse(r->body, nullptr, false);
      EXPECT_TRUE(body.value("error", "").starts_with("too many blocking queries")) << r->body;
      EXPECT_EQ(r->header("retry-after"), "1");
      ++busy;
    }
  }
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(busy, 12);
  EXPECT_EQ(metric("shoal_http_blocking_queries_refused_total"), 12);
  clients.clear();

  EXPECT_TRUE(healthy());
  EXPECT_TRUE(eventually([&] { return metric("shoal_http_blocking_queries") == 0; }, 5s));
  expect_fds_back_to(fds_before);
}

TEST_F(HttpHardeningAgentTest, AClientThatGoesAwayEndsItsWait) {
  ASSERT_NO_FATAL_FAILURE(start_agent(3));
  const Fds fds_before = open_fds();
  std::vector<std::unique_ptr<HttpConnection>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(send_query("/v1/kv/p?index=" + index_ + "&wait=5m"));
    ASSERT_NE(clients.back(), nullptr) << "query " << i;
  }
  ASSERT_TRUE(eventually([&] { return metric("shoal_http_blocking_queries") == 50; }, 5s))
      << metric("shoal_http_blocking_queries");
  clients.clear();  // every client closes its connection
  EXPECT_TRUE(eventually([&] { return metric("shoal_http_blocking_queries") == 0; }, 5s))
      << metric("shoal_http_blocking_queries");
  expect_fds_back_to(fds_before);
  EXPECT_TRUE(healthy());
}

TEST_F(HttpHardeningAgentTest, AnIndexBeyondTheCommitIndexAnswersAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start_agent(4));
  for (const char* stale : {"", "&stale"}) {
    const auto start = std::chrono::steady_clock::now();
    auto r = http_get(host_, port_, std::string("/v1/kv/p?index=1000000000&wait=30s") + stale, 10s);
    ASSERT_TRUE(r.has_value()) << stale;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << stale;
    EXPECT_EQ(r->status, 200u) << r->body;
    EXPECT_EQ(r->header("x-shoal-index"), index_);
  }
  // The current index still blocks (here until the short wait ends).
  const auto start = std::chrono::steady_clock::now();
  auto r = http_get(host_, port_, "/v1/kv/p?index=" + index_ + "&wait=500ms");
  ASSERT_TRUE(r.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);

  // Malformed values: a 400 that names the parameter, never internal text.
  for (const char* target : {"/v1/kv/p?index=1&wait=.s", "/v1/kv/p?index=1&wait=1..s",
                             "/v1/kv/p?index=x", "/v1/kv/p?index=99999999999999999999999"}) {
    auto bad = http_get(host_, port_, target);
    ASSERT_TRUE(bad.has_value()) << target;
    EXPECT_EQ(bad->status, 400u) << target << ": " << bad->body;
    EXPECT_EQ(bad->body.find("internal"), std::string::npos) << bad->body;
    auto body = nlohmann::json::parse(bad->body, nullptr, false);
    EXPECT_TRUE(body.value("field", "") == "wait" || body.value("field", "") == "index")
        << bad->body;
  }
}

}  // namespace
}  // namespace shoal::testing
