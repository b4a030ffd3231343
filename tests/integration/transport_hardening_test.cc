// The cluster transports of a real agent against unauthenticated floods and
// key rotation (issue 11): length headers announcing 8 MiB on the gossip TCP
// port cost no memory and do not lock a joining agent out; silent
// connections on the RPC port do not lock a real peer out; the agent raises
// its own file descriptor limit; after `keyring install/use/remove` a
// removed key opens no RPC channel and an agent holding only the new key
// reaches the others over RPC.
//
// Every test sets its own RLIMIT_NOFILE, so it behaves the same here and on
// a fresh machine (soft limit 1024); agents inherit it.
//
// Address blocks: 127.0.20.N gossip floods, 127.0.21.N the RPC flood and the
// descriptor limit, 127.0.22.N key rotation. HTTP ports 284N0, gossip +1,
// RPC +2.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/rng.h"
#include "node/cluster/cluster_rpc.h"
#include "node/net/rpc_transport.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;

// Sets this process's soft RLIMIT_NOFILE for the test's lifetime (children
// started meanwhile inherit it) and restores it afterwards.
class FdLimit {
 public:
  explicit FdLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit want = saved_;
    want.rlim_cur = soft;
    ok_ = soft <= saved_.rlim_max && ::setrlimit(RLIMIT_NOFILE, &want) == 0;
  }
  FdLimit(const FdLimit&) = delete;
  FdLimit& operator=(const FdLimit&) = delete;
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  bool ok() const { return ok_; }
  rlim_t hard() const { return saved_.rlim_max; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// A "Name:   value kB" field of /proc/PID/status, in bytes; 0 if missing.
uint64_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(field + ":")) {
      std::istringstream v(line.substr(field.size() + 1));
      uint64_t kb = 0;
      v >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// The soft "Max open files" of /proc/PID/limits; 0 if missing.
uint64_t soft_fd_limit(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Max open files")) {
      std::istringstream v(line.substr(std::string("Max open files").size()));
      std::string soft;
      v >> soft;
      return soft == "unlimited" ? UINT64_MAX : std::stoull(soft);
    }
  }
  return 0;
}

// TCP connections that each send only a frame header announcing 8 MiB and
// then stay silent, as an unauthenticated client can.
class HeaderFlood {
 public:
  // Connects `n` times to ip:port, spreading the sources over `from`.
  void run(const std::string& ip, uint16_t port, const std::vector<std::string>& from, size_t n) {
    const tcp::endpoint to(asio::ip::make_address(ip), port);
    const std::array<uint8_t, 4> header = {0x00, 0x80, 0x00, 0x00};  // 8 MiB
    for (size_t i = 0; i < n; ++i) {
      auto s = std::make_unique<tcp::socket>(io_);
      boost::system::error_code ec;
      s->open(tcp::v4(), ec);
      if (!ec) s->bind(tcp::endpoint(asio::ip::make_address(from[i % from.size()]), 0), ec);
      if (!ec) s->connect(to, ec);
      if (!ec) asio::write(*s, asio::buffer(header), ec);
      if (ec) {
        ++failed_;
      } else {
        ++sent_;
      }
      sockets_.push_back(std::move(s));
    }
  }
  size_t sent() const { return sent_; }
  size_t failed() const { return failed_; }

 private:
  asio::io_context io_;
  std::vector<std::unique_ptr<tcp::socket>> sockets_;
  size_t sent_ = 0;
  size_t failed_ = 0;
};

// An RPC peer run by the test: it dials an agent's RPC port with the keyring
// it is given and sends forwarded HTTP requests; answers are counted.
class RpcPeer {
 public:
  RpcPeer(const std::string& source_ip, crypto::Keyring keyring) {
    node::RpcOptions o;
    o.bind = asio::ip::make_address(source_ip);
    o.reconnect_backoff_min = 50ms;
    o.reconnect_backoff_max = 200ms;
    Rng rng(11);
    client_ = std::make_unique<node::RpcClient>(
        io_, std::move(keyring), NodeId::random(rng), "", o,
        [this](const NodeId&, std::vector<uint8_t> frame, node::RpcReply) {
          if (frame.empty() || frame.front() != node::kForwardRpcChannel) return;
          auto r = node::decode_forward_response(
              std::span<const uint8_t>(frame.data() + 1, frame.size() - 1));
          if (r) statuses_.push_back(r->status);
        },
        [this](const tcp::endpoint&, const Status&, size_t, bool) { ++failures_; });
  }
  ~RpcPeer() { client_->stop(); }

  // Sends PUT /v1/kv/<key> = value to ip:port over RPC.
  bool put(const std::string& ip, uint16_t port, const std::string& key, const std::string& value) {
    node::ForwardRequest f;
    f.id = next_id_++;
    f.method = "PUT";
    f.target = "/v1/kv/" + key;
    f.body = value;
    return client_->send(tcp::endpoint(asio::ip::make_address(ip), port), node::encode_frame(f))
        .is_ok();
  }
  // Runs the client until pred() or the deadline; returns pred().
  bool run_until(const std::function<bool()>& pred, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < deadline) io_.run_for(10ms);
    return pred();
  }
  const std::vector<uint32_t>& statuses() const { return statuses_; }
  size_t failures() const { return failures_; }
  const node::RpcCounters& counters() const { return client_->counters(); }

 private:
  asio::io_context io_;
  std::unique_ptr<node::RpcClient> client_;
  std::vector<uint32_t> statuses_;
  size_t failures_ = 0;
  uint64_t next_id_ = 1;
};

double metric_or_zero(const TestAgent& a, const std::string& series) {
  return metric_value(a.metrics(), series).value_or(0);
}

std::vector<std::string> agent_args(const std::string& key, uint16_t http_port,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"--encrypt", key,          "--gossip-profile",
                                "local",     "--rpc-port", std::to_string(http_port + 2)};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// One agent is flooded with 1,000 header-only streams on its gossip port
// from `sources`; its RSS grows by at most 64 MB, and a second agent that
// joins it meanwhile is alive on both sides within 2 s.
void gossip_flood(const std::string& a_ip, const std::string& b_ip, uint16_t http_port,
                  const std::vector<std::string>& sources) {
  FdLimit limit(4096);
  if (!limit.ok()) GTEST_SKIP() << "needs a hard RLIMIT_NOFILE of 4096, have " << limit.hard();
  TempDir root;
  const std::string key = new_key();
  TestAgent a("a", a_ip, http_port, static_cast<uint16_t>(http_port + 1), root.path());
  TestAgent b("b", b_ip, http_port, static_cast<uint16_t>(http_port + 1), root.path());
  a.start(agent_args(key, http_port, {}));
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;
  const uint64_t rss_before = proc_status_bytes(a.process().pid(), "VmRSS");
  ASSERT_GT(rss_before, 0u);

  // Half the flood, then the second agent starts while the other half runs
  // on a thread: silent streams hold every slot while it joins.
  HeaderFlood flood;
  flood.run(a_ip, static_cast<uint16_t>(http_port + 1), sources, 500);
  b.start(agent_args(key, http_port, {"--join", a.gossip_addr()}));
  HeaderFlood more;
  std::thread flooder2([&] { more.run(a_ip, static_cast<uint16_t>(http_port + 1), sources, 500); });
  ASSERT_TRUE(b.wait_healthy(&why)) << why;
  const auto healthy = std::chrono::steady_clock::now();
  const bool joined = eventually(
      [&] { return a.status_of("b") == "alive" && b.status_of("a") == "alive"; }, 2s, 20ms);
  const auto took = std::chrono::steady_clock::now() - healthy;
  flooder2.join();
  EXPECT_TRUE(joined) << "b did not join within 2 s of becoming healthy\n---- a ----\n"
                      << a.err() << "\n---- b ----\n"
                      << b.err();
  std::cerr << "joined after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_EQ(flood.sent() + more.sent(), 1000u)
      << flood.failed() + more.failed() << " flood connections failed";

  // Every flood stream was taken in (accepted, then mostly evicted).
  const std::string accepted = "shoal_gossip_streams_total{direction=\"in\",result=\"accepted\"}";
  const std::string refused = "shoal_gossip_streams_total{direction=\"in\",result=\"refused\"}";
  ASSERT_TRUE(eventually(
      [&] { return metric_or_zero(a, accepted) + metric_or_zero(a, refused) >= 1000; }, 5s, 50ms))
      << a.metrics();
  const uint64_t rss_after = proc_status_bytes(a.process().pid(), "VmRSS");
  const std::string metrics = a.metrics();
  std::cerr << "RSS " << rss_before / 1024 << " kB -> " << rss_after / 1024 << " kB\n";
  EXPECT_LE(rss_after, rss_before + (64u << 20))
      << "RSS grew from " << rss_before / 1024 << " kB to " << rss_after / 1024 << " kB";
  EXPECT_GE(metric_value(metrics, "shoal_gossip_streams_evicted_total").value_or(0), 900)
      << metrics;
  EXPECT_LE(metric_value(metrics, "shoal_gossip_stream_unauthenticated_bytes").value_or(0),
            32u << 20)
      << metrics;
}

TEST(TransportHardening, GossipHeaderFloodFromOneSourceCostsNoMemoryAndLocksNobodyOut) {
  gossip_flood("127.0.20.1", "127.0.20.2", 28400, {"127.0.20.10"});
}

TEST(TransportHardening, GossipHeaderFloodFromFiftySourcesCostsNoMemoryAndLocksNobodyOut) {
  std::vector<std::string> sources;
  for (int i = 0; i < 50; ++i) sources.push_back("127.0.20." + std::to_string(100 + i));
  gossip_flood("127.0.20.3", "127.0.20.4", 28410, sources);
}

// 300 silent connections on the leader's RPC port (over its 256 slots), then
// a real peer dials it: its forwarded write is answered, and replicated,
// within 2 s.
TEST(TransportHardening, SilentRpcConnectionsDoNotLockARealPeerOut) {
  FdLimit limit(4096);
  if (!limit.ok()) GTEST_SKIP() << "needs a hard RLIMIT_NOFILE of 4096, have " << limit.hard();
  TempDir root;
  const std::string key = new_key();
  constexpr uint16_t kHttp = 28420;
  std::vector<std::unique_ptr<TestAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(std::make_unique<TestAgent>("a" + std::to_string(i + 1),
                                                 "127.0.21." + std::to_string(i + 1), kHttp,
                                                 static_cast<uint16_t>(kHttp + 1), root.path()));
  }
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> extra = {"--bootstrap-expect", "3"};
    if (i > 0) extra.insert(extra.end(), {"--join", agents[0]->gossip_addr()});
    agents[i]->start(agent_args(key, kHttp, extra));
  }
  for (auto& a : agents) {
    std::string why;
    ASSERT_TRUE(a->wait_healthy(&why)) << why;
  }
  // The leader, as every agent sees it.
  int lead = -1;
  ASSERT_TRUE(eventually(
      [&] {
        std::string l;
        for (auto& a : agents) {
          json s = a->get_json("/v1/status");
          if (!s.is_object() || s.value("leader", "").empty()) return false;
          if (!l.empty() && s.value("leader", "") != l) return false;
          l = s.value("leader", "");
        }
        for (int i = 0; i < 3; ++i) {
          json self = agents[i]->get_json("/v1/agent/self");
          if (self.is_object() && self.value("id", "") == l) lead = i;
        }
        return lead >= 0;
      },
      15s, 50ms));
  TestAgent& leader = *agents[lead];
  const uint16_t rpc_port = kHttp + 2;

  asio::io_context io;  // before the sockets, which it must outlive
  std::vector<std::unique_ptr<tcp::socket>> silent;
  const tcp::endpoint to(asio::ip::make_address(leader.ip()), rpc_port);
  for (int i = 0; i < 300; ++i) {
    auto s = std::make_unique<tcp::socket>(io);
    s->open(tcp::v4());
    s->bind(tcp::endpoint(asio::ip::make_address("127.0.21.50"), 0));
    boost::system::error_code ec;
    s->connect(to, ec);
    ASSERT_FALSE(ec) << ec.message();
    silent.push_back(std::move(s));
  }
  // The agent has seen every silent connection (taken in, or refused).
  ASSERT_TRUE(eventually(
      [&] {
        return metric_or_zero(leader, "shoal_rpc_connections_accepted_total") +
                   metric_or_zero(leader, "shoal_rpc_connections_refused_total") >=
               300;
      },
      5s, 20ms))
      << leader.metrics();

  auto ring = crypto::ClusterKey::from_base64(key);
  ASSERT_TRUE(ring.is_ok());
  RpcPeer peer("127.0.21.60", crypto::Keyring(*ring));
  const auto start = std::chrono::steady_clock::now();
  // A refused connection loses the frame: send it again after each failure.
  ASSERT_TRUE(peer.put(leader.ip(), rpc_port, "flood/x", "through"));
  size_t failures_seen = 0;
  const bool answered = peer.run_until(
      [&] {
        if (peer.failures() > failures_seen) {
          failures_seen = peer.failures();
          (void)peer.put(leader.ip(), rpc_port, "flood/x", "through");
        }
        return !peer.statuses().empty();
      },
      2s);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(answered) << "no answer within 2 s; " << peer.failures() << " failed attempts\n"
                        << leader.metrics();
  std::cerr << "answered after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_EQ(peer.statuses()[0], 200u);
  // Replicated: a follower has it.
  const size_t follower = lead == 0 ? 1 : 0;
  auto r = http_get(agents[follower]->ip(), kHttp, "/v1/kv/flood/x?raw&stale");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "through");
  const std::string metrics = leader.metrics();
  EXPECT_GE(metric_value(metrics, "shoal_rpc_connections_evicted_total").value_or(0), 45)
      << metrics;
}

// An agent started with a soft limit of 1024 raises it as far as the hard
// limit allows.
TEST(TransportHardening, TheAgentRaisesItsFileDescriptorLimit) {
  TempDir root;
  TestAgent a("a", "127.0.21.10", 28430, 28431, root.path());
  {
    FdLimit low(1024);
    if (!low.ok() || low.hard() <= 1024) {
      GTEST_SKIP() << "the hard RLIMIT_NOFILE is " << low.hard() << ": nothing to raise";
    }
    a.start(agent_args(new_key(), 28430, {}));
  }
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;
  rlimit mine{};
  ::getrlimit(RLIMIT_NOFILE, &mine);
  EXPECT_GT(soft_fd_limit(a.process().pid()), 1024u) << a.err();
  EXPECT_EQ(soft_fd_limit(a.process().pid()), static_cast<uint64_t>(mine.rlim_max)) << a.err();
}

// Drives one keyring operation through POST /v1/keyring on `agent`; use and
// remove name the key by its id as well as by its material (the API moves to
// ids), so this is the one place to adapt when it does.
std::optional<HttpResult> keyring_op(const TestAgent& agent, const std::string& op,
                                     const std::string& key_b64) {
  // Only install carries the key; use and remove name it by its id.
  json body = {{"op", op}};
  if (op == "install") {
    body["key"] = key_b64;
  } else {
    body["key_id"] = key_id_of(key_b64);
  }
  return http_post(agent.ip(), agent.http_port(), "/v1/keyring", body.dump(), 15s);
}

// Three agents rotate from K1 to K2: afterwards an RPC peer holding only K1
// cannot open a channel, and an agent started with only K2 joins and writes
// through RPC forwarding.
TEST(TransportHardening, KeyRotationReachesRpc) {
  TempDir root;
  crypto::init();
  const std::string k1 = new_key();
  const std::string k2 = new_key();
  constexpr uint16_t kHttp = 28440;
  std::vector<std::unique_ptr<TestAgent>> agents;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(std::make_unique<TestAgent>("a" + std::to_string(i + 1),
                                                 "127.0.22." + std::to_string(i + 1), kHttp,
                                                 static_cast<uint16_t>(kHttp + 1), root.path()));
  }
  auto logs = [&] {
    std::string out;
    for (auto& a : agents) {
      std::string err = a->err();
      if (err.size() > 4000) err = err.substr(err.size() - 4000);
      out += "---- " + a->name() + " ----\n" + err + "\n";
    }
    return out;
  };
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> extra = {"--bootstrap-expect", "3"};
    if (i > 0) extra.insert(extra.end(), {"--join", agents[0]->gossip_addr()});
    agents[i]->start(agent_args(k1, kHttp, extra));
  }
  for (int i = 0; i < 3; ++i) {
    std::string why;
    ASSERT_TRUE(agents[i]->wait_healthy(&why)) << why;
  }
  auto put = [&](size_t i, const std::string& key, const std::string& value, Millis timeout) {
    return eventually(
        [&] {
          HttpConnection c;
          if (!c.connect(agents[i]->ip(), kHttp)) return false;
          auto r = c.request(boost::beast::http::verb::put, "/v1/kv/" + key, value, false, 10s);
          return r && r->status == 200 && r->body.starts_with("true");
        },
        timeout, 100ms);
  };
  ASSERT_TRUE(put(1, "before", "k1", 15s)) << logs();

  for (const auto& [op, key] : {std::pair{"install", k2}, {"use", k2}, {"remove", k1}}) {
    auto r = keyring_op(*agents[0], op, key);
    ASSERT_TRUE(r) << op;
    ASSERT_EQ(r->status, 200u) << op << ": " << r->body;
  }

  // A peer holding only K1 opens no channel on any agent.
  auto old_key = crypto::ClusterKey::from_base64(k1);
  ASSERT_TRUE(old_key.is_ok());
  for (int i = 0; i < 3; ++i) {
    RpcPeer stale("127.0.22.9", crypto::Keyring(*old_key));
    ASSERT_TRUE(stale.put(agents[i]->ip(), kHttp + 2, "stolen", "k1"));
    stale.run_until([&] { return stale.failures() > 0 || !stale.statuses().empty(); }, 5s);
    EXPECT_EQ(stale.counters().handshakes_ok, 0u) << agents[i]->name();
    EXPECT_TRUE(stale.statuses().empty()) << agents[i]->name();
  }

  // The cluster still works: its channels now open under K2.
  ASSERT_TRUE(put(2, "after", "k2", 10s)) << logs();

  // An agent with only K2 joins and writes through RPC forwarding.
  agents[3]->start(agent_args(k2, kHttp, {"--join", agents[0]->gossip_addr()}));
  std::string why;
  ASSERT_TRUE(agents[3]->wait_healthy(&why)) << why;
  ASSERT_TRUE(put(3, "newcomer", "k2 only", 15s)) << logs();
  auto r = http_get(agents[0]->ip(), kHttp, "/v1/kv/newcomer?raw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "k2 only");
  auto stolen = http_get(agents[0]->ip(), kHttp, "/v1/kv/stolen?raw");
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 404u);
}

}  // namespace
}  // namespace shoal::testing
