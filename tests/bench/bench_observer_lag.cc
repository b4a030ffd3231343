// shoal-bench observer-lag: how long after a write commits an observer has
// applied it, on real agents (tests/bench/observer_lag.sh starts them).
//
// One write at a time goes to the leader; its answer (sent once the leader
// applied the entry, so just after the commit) carries the entry's index in
// X-Shoal-Index. At once a blocking query on the observer asks for the KV
// index after index - 1 (`?index=&stale`): it answers as soon as the
// observer's replica holds the write, at once if it already does. The lag
// is the time from the write's answer to the observer's. Both requests run
// on kept-alive loopback connections, so their HTTP costs are about equal
// and cancel out; the figure is an upper bound of apply time - commit time.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/bench.h"

namespace shoal::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock;

// One kept-alive HTTP connection to an agent.
class Conn {
 public:
  bool open(const std::string& host_port) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    host_ = host_port.substr(0, colon);
    port_ = host_port.substr(colon + 1);
    beast::error_code ec;
    stream_.close();
    auto endpoints = tcp::resolver(io_).resolve(host_, port_, ec);
    if (ec) return false;
    stream_.expires_after(std::chrono::seconds(2));
    stream_.connect(endpoints, ec);
    return !ec;
  }
  // The status and the X-Shoal-Index of the answer; nullopt on any failure.
  std::optional<std::pair<unsigned, uint64_t>> call(http::verb method, const std::string& target,
                                                    const std::string& body) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host_);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    stream_.expires_after(std::chrono::seconds(10));
    http::write(stream_, req, ec);
    if (ec) return std::nullopt;
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res, ec);
    if (ec) return std::nullopt;
    uint64_t index = 0;
    if (auto it = res.find("X-Shoal-Index"); it != res.end()) {
      index = std::stoull(std::string(it->value()));
    }
    return std::make_pair(res.result_int(), index);
  }

 private:
  boost::asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
  std::string host_, port_;
};

struct Options {
  std::string leader;
  std::string observer;
  uint32_t writes = 500;
  uint32_t interval_ms = 10;
};

int run(const Options& o) {
  Conn writer, reader;
  if (!writer.open(o.leader) || !reader.open(o.observer)) {
    std::fprintf(stderr, "observer-lag: cannot connect to %s or %s\n", o.leader.c_str(),
                 o.observer.c_str());
    return 1;
  }
  std::vector<double> lags_ms;
  uint32_t errors = 0;
  for (uint32_t i = 0; i < o.writes; ++i) {
    auto w = writer.call(http::verb::put, "/v1/kv/bench/lag/" + std::to_string(i % 64), "v");
    const auto acked = SteadyTime::now();
    if (!w || w->first != 200 || w->second == 0) {
      ++errors;
      writer.open(o.leader);
      continue;
    }
    auto r = reader.call(http::verb::get,
                         "/v1/kv/bench/lag/" + std::to_string(i % 64) +
                             "?stale&wait=5s&index=" + std::to_string(w->second - 1),
                         "");
    const auto seen = SteadyTime::now();
    if (!r || r->first != 200 || r->second < w->second) {
      ++errors;
      reader.open(o.observer);
      continue;
    }
    lags_ms.push_back(std::chrono::duration<double, std::milli>(seen - acked).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));  // write pacing
  }
  ResultLine("observer_lag")
      .add("writes", static_cast<uint64_t>(lags_ms.size()))
      .add("p50_ms", percentile(lags_ms, 0.50), 2)
      .add("p99_ms", percentile(lags_ms, 0.99), 2)
      .add("max_ms", lags_ms.empty() ? 0.0 : *std::max_element(lags_ms.begin(), lags_ms.end()), 2)
      .add("errors", errors)
      .print();
  return errors == 0 && !lags_ms.empty() ? 0 : 1;
}

}  // namespace

Runner add_observer_lag(CLI::App& cmd) {
  auto o = std::make_shared<Options>();
  cmd.add_option("--leader", o->leader, "HOST:PORT of the leader's HTTP API")->required();
  cmd.add_option("--observer", o->observer, "HOST:PORT of an observer's HTTP API")->required();
  cmd.add_option("--writes", o->writes, "writes to measure")->check(CLI::Range(1u, 1000000u));
  cmd.add_option("--interval-ms", o->interval_ms, "pause between writes")
      ->check(CLI::Range(0u, 10000u));
  return [o] { return run(*o); };
}

}  // namespace shoal::bench
