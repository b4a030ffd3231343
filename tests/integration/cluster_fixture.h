// ClusterTest: the fixture of the multi-agent tests (cluster_test.cc,
// cluster_failover_test.cc). Agents a1..an run on 127.0.<block>.<i+1>, each
// test with its own block and ports, and join a1; helpers start them, find
// the leader they agree on and read and write KV through any of them.
#pragma once

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {

using nlohmann::json;
namespace http = boost::beast::http;

class ClusterTest : public ::testing::Test {
 public:
  TestAgent& agent(size_t i) { return *agents_[i]; }

  // A request through agent i carrying the API token (api_token_), on a
  // fresh connection; nullopt when the agent does not answer. HttpConnection
  // sends no headers of its own, so the request is written raw.
  std::optional<HttpResult> authed(size_t i, const std::string& method, const std::string& target,
                                   const std::string& body = {}, Millis timeout = 10s) const {
    HttpConnection c;
    if (!c.connect(agents_[i]->ip(), agents_[i]->http_port())) return std::nullopt;
    const std::string req =
        method + " " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + api_token_ +
        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
        body;
    if (!c.send_raw(req)) return std::nullopt;
    return c.read_response(timeout);
  }

 protected:
  // Agents a1..an on 127.0.<block>.<i+1>; all join a1. Everyone gets the
  // same HTTP/gossip/RPC ports (their addresses differ).
  void add_agents(size_t n, int block, uint16_t http_port, size_t first = 0) {
    block_ = block;
    http_port_ = http_port;
    for (size_t i = first; i < first + n; ++i) {
      agents_.push_back(std::make_unique<TestAgent>("a" + std::to_string(i + 1), ip(i), http_port,
                                                    static_cast<uint16_t>(http_port + 1),
                                                    root_.path()));
    }
  }
  std::string ip(size_t i) const {
    return "127.0." + std::to_string(block_) + "." + std::to_string(i + 1);
  }
  std::vector<std::string> args(size_t i, const std::vector<std::string>& extra,
                                const std::string& join_ip = "") const {
    std::vector<std::string> a = {"--encrypt",        key_,
                                  "--rpc-port",       std::to_string(http_port_ + 2),
                                  "--gossip-profile", "local"};
    const std::string seed = join_ip.empty() ? ip(0) : join_ip;
    if (ip(i) != seed) a.insert(a.end(), {"--join", seed + ":" + std::to_string(http_port_ + 1)});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  void start(size_t i, const std::vector<std::string>& extra, const std::string& join_ip = "") {
    agents_[i]->start(args(i, extra, join_ip));
  }
  void wait_healthy() {
    for (auto& a : agents_) {
      std::string why;
      ASSERT_TRUE(a->wait_healthy(&why)) << why;
    }
  }

  // Starts a1..a3 with --bootstrap-expect 3 and waits until they agree on
  // a leader (its index in *lead).
  void start_three(int* lead) {
    for (size_t i = 0; i < 3; ++i) start(i, {"--bootstrap-expect", "3"});
    ASSERT_NO_FATAL_FAILURE(wait_healthy());
    ASSERT_TRUE(eventually(
        [&] {
          return (*lead = agreed_leader({0, 1, 2})) >= 0;
        },
        10s, 50ms))
        << logs();
  }

  // Starts a1..a3 with --bootstrap-expect 3 and --api-token api_token_ and
  // waits until all three report the same leader (its id in *leader) and
  // three voters, which must happen within 5 s of the wait for health ending
  // (the time from the start is printed). The token guards everything but
  // health, so status is read through authed().
  void start_three_with_token(std::string* leader) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < 3; ++i) start(i, {"--bootstrap-expect", "3", "--api-token", api_token_});
    ASSERT_NO_FATAL_FAILURE(wait_healthy());
    ASSERT_TRUE(eventually(
        [&] {
          std::set<std::string> leaders;
          for (size_t i = 0; i < 3; ++i) {
            auto r = authed(i, "GET", "/v1/status", {}, 5s);
            if (!r || r->status != 200) return false;
            json s = json::parse(r->body, nullptr, false);
            if (!s.is_object() || s.value("leader", "").empty() || s.value("voters", 0) != 3) {
              return false;
            }
            leaders.insert(s.value("leader", ""));
          }
          *leader = *leaders.begin();
          return leaders.size() == 1;
        },
        5s, 50ms))
        << logs();
    const auto formed = std::chrono::steady_clock::now() - t0;
    std::cerr << "formed in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(formed).count() << " ms\n";
  }

  json status(size_t i) const { return agents_[i]->get_json("/v1/status"); }
  // The leader's id as agent i sees it, or "".
  std::string leader_of(size_t i) const {
    json s = status(i);
    return s.is_object() ? s.value("leader", "") : "";
  }
  // Index of the agent that leads, per everyone in `among` agreeing; -1 if none.
  int agreed_leader(const std::vector<size_t>& among) const {
    std::string l;
    for (size_t i : among) {
      const std::string li = leader_of(i);
      if (li.empty() || (!l.empty() && li != l)) return -1;
      l = li;
    }
    for (size_t i : among) {
      json self = agents_[i]->get_json("/v1/agent/self");
      if (self.is_object() && self.value("id", "") == l) return static_cast<int>(i);
    }
    return -1;
  }

  std::optional<HttpResult> kv(size_t i, http::verb method, const std::string& target,
                               const std::string& body = {},
                               const std::vector<std::pair<std::string, std::string>>& = {}) {
    HttpConnection c;
    if (!c.connect(agents_[i]->ip(), agents_[i]->http_port())) return std::nullopt;
    return c.request(method, target, body, false, 10s);
  }
  // PUT through agent i, retried while the cluster answers 503 (no leader yet).
  bool put(size_t i, const std::string& key, const std::string& value, Millis timeout = 10s) {
    return eventually(
        [&] {
          auto r = kv(i, http::verb::put, "/v1/kv/" + key, value);
          return r && r->status == 200 && r->body.starts_with("true");
        },
        timeout, 100ms);
  }
  std::optional<std::string> get_raw(size_t i, const std::string& key, bool stale = false) {
    auto r = kv(i, http::verb::get, "/v1/kv/" + key + "?raw" + (stale ? "&stale" : ""));
    if (!r || r->status != 200) return std::nullopt;
    return r->body;
  }

  std::string logs() const {
    std::string out;
    for (const auto& a : agents_) {
      std::string err = a->err();
      if (err.size() > 3000) err = err.substr(err.size() - 3000);
      out += "---- " + a->name() + " ----\n" + err + "\n";
    }
    return out;
  }

  TempDir root_;
  std::string key_ = new_key();
  std::string api_token_ = "s3cret";  // only for agents started with --api-token
  int block_ = 0;
  uint16_t http_port_ = 0;
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

}  // namespace shoal::testing
