// Raft over the encrypted RPC transport (node/consensus/raft_rpc.h): three RaftHosts,
// each with its own RocksDB log, RpcServer (127.0.10.N:2910N) and RpcClient
// (bound to 127.0.10.N), elect a leader, replicate 100 commands in order and
// fail over when the leader stops; a node holding the wrong cluster key gets
// no message through while the other two carry on. Plus the receiver's
// checks (channel tag, decode, spoofed sender) on frames fed directly.
//
// Threads: every host runs its own loop thread (RaftHost's default); all
// RPC servers and clients share ONE io_context run by one test-owned thread
// (the transport posts sends to it; the test posts stop() calls to it). Waits
// are on condition variables fed by on_role_change, the state machines and
// the clients' failure handlers, with deadlines; no sleeps.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "node/consensus/raft_rpc.h"
#include "raft/codec.h"
#include "tests/unit/raft_host_test_util.h"
#include "tests/unit/temp_dir.h"

namespace shoal::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr int kNodes = 3;
// Each test gets its own addresses and ports (ctest runs them in parallel):
// block b uses 127.0.10.(10b+1..3) and ports 291(b)1..3.
std::string ip(int block, int i) { return "127.0.10." + std::to_string(10 * block + 1 + i); }
uint16_t port(int block, int i) { return static_cast<uint16_t>(29101 + 10 * block + i); }
const std::string kLabel = "raft-rpc-test";
constexpr auto kWait = 10s;

raft::NodeId node_id(int i) { return raft::NodeId(0, 0xa1 + static_cast<uint64_t>(i)); }
tcp::endpoint endpoint(int block, int i) {
  return {asio::ip::make_address(ip(block, i)), port(block, i)};
}

// One directory per test (tests/unit/temp_dir.h).
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("shoal-raft-rpc") {}
};

using Recorder = test::CommandRecorder;  // tests/unit/raft_host_test_util.h

struct Node {
  TempDir dir;
  Recorder sm;
  std::unique_ptr<RpcClient> client;
  std::unique_ptr<RaftRpcTransport> transport;
  std::unique_ptr<RaftHost> host;
  std::unique_ptr<RaftRpcReceiver> receiver;
  std::unique_ptr<RpcServer> server;
  bool stopped = false;
};

// Three nodes on one shared RPC io_context. Role changes and client
// failures land in `mu_`/`cv_` for the waits.
class Cluster {
 public:
  Cluster(int block, const std::array<crypto::Keyring, kNodes>& keys)
      : block_(block), work_(rpc_io_.get_executor()) {
    raft::ConfState conf;
    for (int i = 0; i < kNodes; ++i) conf.voters.push_back(node_id(i));
    for (int i = 0; i < kNodes; ++i) {
      auto n = std::make_unique<Node>();
      RpcOptions co;
      co.bind = asio::ip::make_address(ip(block_, i));
      co.reconnect_backoff_min = 20ms;
      co.reconnect_backoff_max = 200ms;
      n->client = std::make_unique<RpcClient>(
          rpc_io_, keys[i], node_id(i), kLabel, co,
          [](const NodeId&, std::vector<uint8_t>, RpcReply) {},  // Raft never replies in-line
          [this, i](const tcp::endpoint&, const Status&, size_t, bool) {
            std::lock_guard lk(mu_);
            ++client_failures_[i];
            cv_.notify_all();
          });
      n->transport = std::make_unique<RaftRpcTransport>(rpc_io_, *n->client);
      for (int j = 0; j < kNodes; ++j) {
        if (j != i) n->transport->set_peer(node_id(j), endpoint(block_, j));
      }
      RaftHostOptions o;
      o.raft.id = node_id(i);
      o.data_dir = n->dir.path();
      o.bootstrap = conf;
      o.tick = 20ms;
      o.rng_seed = 1000 + static_cast<uint64_t>(i);
      o.on_role_change = [this, i](bool leader, uint64_t term, const raft::NodeId&) {
        std::lock_guard lk(mu_);
        leader_[i] = leader;
        term_[i] = term;
        cv_.notify_all();
      };
      auto host = RaftHost::open(o, *n->transport, n->sm);
      EXPECT_TRUE(host.is_ok()) << host.status().to_string();
      if (!host.is_ok()) return;
      n->host = std::move(*host);
      n->receiver = std::make_unique<RaftRpcReceiver>(*n->host);
      RpcOptions so;
      so.bind = asio::ip::make_address(ip(block_, i));
      so.port = port(block_, i);
      n->server = std::make_unique<RpcServer>(rpc_io_, keys[i], node_id(i), kLabel, so,
                                              n->receiver->handler());
      const Status st = n->server->listen();
      EXPECT_TRUE(st.is_ok()) << st.to_string();
      nodes_[i] = std::move(n);
    }
    rpc_thread_ = std::thread([this] { rpc_io_.run(); });
    for (auto& n : nodes_) n->host->start();
    ok_ = true;
  }

  ~Cluster() {
    for (int i = 0; i < kNodes; ++i) {
      if (nodes_[i]) stop_node(i);
    }
    work_.reset();
    rpc_io_.stop();
    if (rpc_thread_.joinable()) rpc_thread_.join();
  }

  bool ok() const { return ok_; }
  Node& node(int i) { return *nodes_[i]; }

  // Stops the node's host, then (on the RPC thread) its server and client.
  void stop_node(int i) {
    Node& n = *nodes_[i];
    if (n.stopped) return;
    n.stopped = true;
    if (n.host) n.host->stop();
    on_rpc_thread([&] {
      if (n.server) n.server->stop();
      if (n.client) n.client->stop();
    });
    std::lock_guard lk(mu_);
    leader_[i] = false;
  }

  // Runs `f` on the RPC io_context's thread and waits for it.
  template <class F>
  void on_rpc_thread(F f) {
    if (!rpc_thread_.joinable()) {
      f();
      return;
    }
    std::promise<void> done;
    asio::post(rpc_io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Waits until a running node leads at a term above `min_term`; returns it
  // (or -1 at the deadline).
  int wait_leader(uint64_t min_term = 0) {
    std::unique_lock lk(mu_);
    int found = -1;
    cv_.wait_for(lk, kWait, [&] {
      for (int i = 0; i < kNodes; ++i) {
        if (!nodes_[i]->stopped && leader_[i] && term_[i] > min_term) found = i;
      }
      return found >= 0;
    });
    return found;
  }
  uint64_t term_of(int i) {
    std::lock_guard lk(mu_);
    return term_[i];
  }
  bool leads_now(int i) {
    std::lock_guard lk(mu_);
    return leader_[i];
  }
  // Waits until node i's client has reported at least n failed connections.
  bool wait_client_failures(int i, int n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, kWait, [&] { return client_failures_[i] >= n; });
  }

 private:
  int block_;
  asio::io_context rpc_io_;  // declared first: outlives every server and client
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::array<std::unique_ptr<Node>, kNodes> nodes_;
  std::thread rpc_thread_;
  bool ok_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::array<bool, kNodes> leader_{};
  std::array<uint64_t, kNodes> term_{};
  std::array<int, kNodes> client_failures_{};
};

// Proposes "cmd<from>".."cmd<to-1>" back to back and waits for every
// callback; returns how many failed (or were not answered in time).
int propose_range(RaftHost& h, int from, int to) {
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  int failed = 0;
  for (int i = from; i < to; ++i) {
    const std::string cmd = "cmd" + std::to_string(i);
    h.propose(std::vector<uint8_t>(cmd.begin(), cmd.end()), [&](Status st, raft::Index) {
      std::lock_guard lk(mu);
      ++answered;
      if (!st.is_ok()) ++failed;
      cv.notify_all();
    });
  }
  std::unique_lock lk(mu);
  if (!cv.wait_for(lk, kWait, [&] { return answered == to - from; })) return to - from;
  return failed;
}

// Every node in `which` applied exactly cmd0..cmd<n-1>, in order.
void expect_applied(Cluster& c, const std::vector<int>& which, int n) {
  for (int i : which) {
    ASSERT_TRUE(c.node(i).sm.wait_for(static_cast<size_t>(n))) << "node " << i;
    const std::vector<std::string> cmds = c.node(i).sm.commands();
    ASSERT_EQ(cmds.size(), static_cast<size_t>(n)) << "node " << i;
    for (int k = 0; k < n; ++k) EXPECT_EQ(cmds[k], "cmd" + std::to_string(k)) << "node " << i;
  }
}

TEST(RaftRpc, ThreeNodesReplicateAndFailOver) {
  const crypto::Keyring key(crypto::ClusterKey::generate());
  Cluster c(0, {key, key, key});
  ASSERT_TRUE(c.ok());

  const int leader = c.wait_leader();
  ASSERT_GE(leader, 0) << "no leader elected";
  ASSERT_EQ(propose_range(*c.node(leader).host, 0, 100), 0);
  expect_applied(c, {0, 1, 2}, 100);

  // The leader goes away, host and RPC server both; the other two elect a
  // new one at a higher term, which takes proposals.
  const uint64_t old_term = c.term_of(leader);
  c.stop_node(leader);
  const int next = c.wait_leader(old_term);
  ASSERT_GE(next, 0) << "no new leader after stopping node " << leader;
  ASSERT_NE(next, leader);
  ASSERT_EQ(propose_range(*c.node(next).host, 100, 120), 0);
  std::vector<int> live;
  for (int i = 0; i < kNodes; ++i) {
    if (i != leader) live.push_back(i);
  }
  expect_applied(c, live, 120);

  for (int i = 0; i < kNodes; ++i) {
    const auto& s = c.node(i).transport->stats();
    EXPECT_EQ(s.dropped_unknown_peer, 0u);
    EXPECT_GT(s.sent, 0u);
    const auto& r = c.node(i).receiver->stats();
    EXPECT_GT(r.delivered, 0u);
    EXPECT_EQ(r.dropped_decode, 0u);
    EXPECT_EQ(r.dropped_spoofed, 0u);
    EXPECT_EQ(r.dropped_channel, 0u);
    EXPECT_EQ(r.dropped_misaddressed, 0u);
  }
}

TEST(RaftRpc, ANodeWithTheWrongClusterKeyGetsNoMessageThrough) {
  const crypto::Keyring key(crypto::ClusterKey::generate());
  const crypto::Keyring wrong(crypto::ClusterKey::generate());
  Cluster c(1, {key, key, wrong});
  ASSERT_TRUE(c.ok());

  const int leader = c.wait_leader();
  ASSERT_GE(leader, 0) << "no leader elected";
  ASSERT_NE(leader, 2);
  ASSERT_EQ(propose_range(*c.node(leader).host, 0, 50), 0);
  expect_applied(c, {0, 1}, 50);

  // The outsider's client failed its handshakes (it campaigns, so it dials),
  // and the leader's client failed to reach the outsider's server.
  ASSERT_TRUE(c.wait_client_failures(2, 1));
  ASSERT_TRUE(c.wait_client_failures(leader, 1));
  Node& outsider = c.node(2);
  c.on_rpc_thread([&] {
    EXPECT_EQ(outsider.client->counters().handshakes_ok, 0u);
    EXPECT_EQ(outsider.client->counters().frames_sent, 0u);
    EXPECT_EQ(outsider.server->counters().handshakes_ok, 0u);
    EXPECT_EQ(outsider.server->counters().frames_received, 0u);
  });
  EXPECT_EQ(outsider.receiver->stats().delivered, 0u);
  EXPECT_TRUE(outsider.sm.commands().empty());
  EXPECT_FALSE(c.leads_now(2));
  // Nothing of the outsider's reached the two members either.
  for (int i = 0; i < 2; ++i) {
    const auto& r = c.node(i).receiver->stats();
    EXPECT_EQ(r.dropped_spoofed, 0u);
    EXPECT_EQ(r.dropped_decode, 0u);
  }
}

// The receiver's checks, on frames handed to it directly (no network).
TEST(RaftRpc, ReceiverDropsForeignMalformedAndSpoofedFrames) {
  struct NoNetwork : Transport {
    void send(const raft::Message&) override {}
  } net;
  TempDir dir;
  Recorder sm;
  RaftHostOptions o;
  o.raft.id = node_id(0);
  o.data_dir = dir.path();
  o.bootstrap = raft::ConfState{{node_id(0), node_id(1)}, {}};
  o.tick = 20ms;
  o.rng_seed = 5;
  auto host = RaftHost::open(o, net, sm);
  ASSERT_TRUE(host.is_ok()) << host.status().to_string();
  (*host)->start();
  RaftRpcReceiver rx(**host);

  raft::Message m;
  m.kind = raft::MessageKind::kHeartbeatResp;
  m.from = node_id(1);
  m.to = node_id(0);
  const std::vector<uint8_t> good = encode_raft_frame(m);
  ASSERT_EQ(good[0], kRaftRpcChannel);

  rx.on_frame(node_id(1), std::vector<uint8_t>{});  // empty
  std::vector<uint8_t> other = good;
  other[0] = 0x02;  // another channel
  rx.on_frame(node_id(1), other);
  EXPECT_EQ(rx.stats().dropped_channel, 2u);

  rx.on_frame(node_id(1), std::vector<uint8_t>{kRaftRpcChannel, 0xc1, 0xff, 0x00});
  std::vector<uint8_t> truncated(good.begin(), good.end() - 3);
  rx.on_frame(node_id(1), truncated);
  EXPECT_EQ(rx.stats().dropped_decode, 2u);

  rx.on_frame(node_id(2), good);  // node 2 speaking for node 1
  EXPECT_EQ(rx.stats().dropped_spoofed, 1u);

  raft::Message elsewhere = m;
  elsewhere.to = node_id(2);
  rx.on_frame(node_id(1), encode_raft_frame(elsewhere));
  EXPECT_EQ(rx.stats().dropped_misaddressed, 1u);

  rx.on_frame(node_id(1), good);
  EXPECT_EQ(rx.stats().delivered, 1u);
  (*host)->stop();
}

// A message to a node missing from the address book is dropped and counted;
// nothing is posted to the RPC io_context.
TEST(RaftRpc, TransportDropsMessagesToUnknownPeers) {
  asio::io_context io;
  RpcClient client(
      io, crypto::Keyring(crypto::ClusterKey::generate()), node_id(0), kLabel, RpcOptions{},
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status&, size_t, bool) {});
  RaftRpcTransport t(io, client);
  raft::Message m;
  m.from = node_id(0);
  m.to = node_id(1);
  t.send(m);
  EXPECT_EQ(t.stats().dropped_unknown_peer, 1u);
  EXPECT_EQ(io.poll(), 0u);

  t.set_peer(node_id(1), endpoint(0, 1));
  ASSERT_TRUE(t.peer(node_id(1)).has_value());
  EXPECT_EQ(*t.peer(node_id(1)), endpoint(0, 1));
  t.remove_peer(node_id(1));
  EXPECT_FALSE(t.peer(node_id(1)).has_value());
  t.send(m);
  EXPECT_EQ(t.stats().dropped_unknown_peer, 2u);
}

}  // namespace
}  // namespace shoal::node
