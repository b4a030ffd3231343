// The gossip TCP transport (node/net/gossip_transport.h) against unauthenticated
// clients: a stream that announces a large frame holds only the memory of
// what it sent, the bytes held by unauthenticated streams have a total
// budget, at the stream cap the oldest silent stream makes room for a
// newcomer, and accept errors (EMFILE) back off. Everything runs on one
// io_context in the test thread; waits are for conditions, with deadlines.
// Addresses 127.0.22.1NN, ports 2922N (one pair per test).
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/net/gossip_channel.h"
#include "node/net/gossip_transport.h"
#include "tests/unit/fd_exhaustion.h"

namespace shoal::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

const std::string kLabel = "gossip-transport-test";

template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(10ms);
  }
  return true;
}

// Runs `io` for `d` (a measurement window, not a synchronisation).
void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  run_until(
      io, [&] { return std::chrono::steady_clock::now() >= until; }, d + 1s);
}

// A transport on ip:port answering every request with "pong".
struct Server {
  Server(asio::io_context& io, const crypto::Keyring& ring, const char* ip, uint16_t port,
         GossipTransportOptions o = {})
      : channel(ring, false, kLabel, NodeId(0, 0x51), 1) {
    o.bind = asio::ip::make_address(ip);
    o.port = port;
    transport = std::make_unique<GossipTransport>(
        io, channel, o, [](const gossip::Address&, std::vector<uint8_t>) {},
        [this](const gossip::Address&, std::vector<uint8_t> p) -> Result<std::vector<uint8_t>> {
          requests.emplace_back(p.begin(), p.end());
          const std::string pong = "pong";
          return std::vector<uint8_t>(pong.begin(), pong.end());
        },
        [](uint64_t, Result<std::vector<uint8_t>>) {});
  }
  const GossipTransportStats& stats() const { return transport->stats(); }

  GossipChannel channel;
  std::unique_ptr<GossipTransport> transport;
  std::vector<std::string> requests;
};

// A transport that only opens streams, and remembers the replies.
struct Client {
  Client(asio::io_context& io, const crypto::Keyring& ring, const char* ip)
      : channel(ring, false, kLabel, NodeId(0, 0x52), 1) {
    GossipTransportOptions o;
    o.bind = asio::ip::make_address(ip);
    transport = std::make_unique<GossipTransport>(
        io, channel, o, [](const gossip::Address&, std::vector<uint8_t>) {},
        [](const gossip::Address&, std::vector<uint8_t>) -> Result<std::vector<uint8_t>> {
          return std::vector<uint8_t>();
        },
        [this](uint64_t id, Result<std::vector<uint8_t>> r) {
          replies.emplace_back(id, r.is_ok() ? std::string(r->begin(), r->end())
                                             : "error: " + r.status().to_string());
        });
  }
  void ask(uint64_t id, const char* ip, uint16_t port,
           std::vector<uint8_t> payload = {'p', 'i', 'n', 'g'}) {
    gossip::StreamRequest r;
    r.id = id;
    r.to = gossip::Address{ip, port};
    r.payload = std::move(payload);
    r.timeout = 5s;
    transport->open_stream(r);
  }

  GossipChannel channel;
  std::unique_ptr<GossipTransport> transport;
  std::vector<std::pair<uint64_t, std::string>> replies;
};

// A plain TCP connection that speaks what the test tells it to.
struct RawSocket {
  RawSocket(asio::io_context& io, const char* src, const char* ip, uint16_t port) : socket(io) {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(src), 0));
    socket.connect(tcp::endpoint(asio::ip::make_address(ip), port));
  }
  void write(const std::vector<uint8_t>& b) {
    error_code ignored;
    asio::write(socket, asio::buffer(b), ignored);
  }
  // The length header of a frame of n bytes.
  void header(size_t n) {
    write({static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
           static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  }
  void watch() {
    socket.async_read_some(asio::buffer(buf), [this](const error_code& e, size_t) { result = e; });
  }
  bool closed() const { return result.has_value() && result->failed(); }

  tcp::socket socket;
  std::array<uint8_t, 64> buf{};
  std::optional<error_code> result;
};

// Streams that announce 8 MiB and send part of it hold what they sent (in
// 64 KiB steps), not what they announced; past the budget for all
// unauthenticated streams, the stream that would exceed it is closed.
TEST(GossipTransport, UnauthenticatedStreamsHoldWhatTheySentWithinABudget) {
  asio::io_context io;
  const crypto::Keyring ring(crypto::ClusterKey::generate());
  GossipTransportOptions o;
  o.max_unauthenticated_bytes = 512 << 10;
  Server server(io, ring, "127.0.22.101", 29221, o);
  ASSERT_TRUE(server.transport->listen().is_ok());
  constexpr size_t kEightMiB = 8 << 20;

  // Headers only: nothing is held.
  std::vector<std::unique_ptr<RawSocket>> silent;
  for (int i = 0; i < 10; ++i) {
    silent.push_back(std::make_unique<RawSocket>(io, "127.0.22.102", "127.0.22.101", 29221));
    silent.back()->header(kEightMiB);
  }
  ASSERT_TRUE(run_until(io, [&] { return server.stats().stream_bytes_received == 10 * 4; }));
  EXPECT_EQ(server.stats().streams_in, 10u);
  EXPECT_EQ(server.stats().unauthenticated_bytes, 0u);

  // 100 KiB of the announced 8 MiB: a few hundred KiB at most.
  RawSocket first(io, "127.0.22.102", "127.0.22.101", 29221);
  first.header(kEightMiB);
  first.write(std::vector<uint8_t>(100 << 10, 0xab));
  ASSERT_TRUE(run_until(io, [&] { return server.stats().stream_bytes_received >= (100 << 10); }));
  EXPECT_GT(server.stats().unauthenticated_bytes, 0u);
  EXPECT_LE(server.stats().unauthenticated_bytes, 256u << 10);

  // More streams sending data: the budget holds, and those over it close.
  std::vector<std::unique_ptr<RawSocket>> senders;
  for (int i = 0; i < 6; ++i) {
    senders.push_back(std::make_unique<RawSocket>(io, "127.0.22.103", "127.0.22.101", 29221));
    senders.back()->header(kEightMiB);
    senders.back()->write(std::vector<uint8_t>(200 << 10, 0xcd));
    senders.back()->watch();
  }
  first.watch();
  ASSERT_TRUE(run_until(io, [&] { return server.stats().streams_in_over_budget > 0; }));
  EXPECT_LE(server.stats().unauthenticated_bytes, 512u << 10);
  size_t closed = 0;
  run_until(io, [&] {
    closed = first.closed() ? 1 : 0;
    for (const auto& s : senders) closed += s->closed() ? 1 : 0;
    return closed == server.stats().streams_in_over_budget;
  });
  EXPECT_EQ(closed, server.stats().streams_in_over_budget);
  EXPECT_TRUE(first.closed()) << "the holder silent longest made room";

  // A real request still fits and gets its answer.
  Client client(io, ring, "127.0.22.104");
  client.ask(1, "127.0.22.101", 29221);
  ASSERT_TRUE(run_until(io, [&] { return !client.replies.empty(); }));
  EXPECT_EQ(client.replies[0].second, "pong");
}

// Streams that announce large frames, send part and stall hold the budget; a
// real peer's large request still gets through: the stalled holders silent
// longest are closed to make room for it.
TEST(GossipTransport, StalledHoldersOfTheBudgetMakeRoomForARealPeer) {
  asio::io_context io;
  const crypto::Keyring ring(crypto::ClusterKey::generate());
  GossipTransportOptions o;
  o.max_unauthenticated_bytes = 256 << 10;
  Server server(io, ring, "127.0.22.131", 29224, o);
  ASSERT_TRUE(server.transport->listen().is_ok());

  std::vector<std::unique_ptr<RawSocket>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(std::make_unique<RawSocket>(io, "127.0.22.132", "127.0.22.131", 29224));
    stalled.back()->header(8 << 20);
    stalled.back()->write(std::vector<uint8_t>(150 << 10, 0xee));
    stalled.back()->watch();
    ASSERT_TRUE(run_until(
        io, [&] { return server.stats().stream_bytes_received >= (i + 1) * ((150u << 10) + 4); }));
  }
  EXPECT_GT(server.stats().unauthenticated_bytes, 128u << 10);

  Client client(io, ring, "127.0.22.133");
  client.ask(1, "127.0.22.131", 29224, std::vector<uint8_t>(300 << 10, 'p'));
  ASSERT_TRUE(run_until(io, [&] { return !client.replies.empty(); }));
  EXPECT_EQ(client.replies[0].second, "pong");
  EXPECT_LE(server.stats().unauthenticated_bytes, 256u << 10);
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].size(), 300u << 10);
}

// At the cap on inbound streams, a newcomer evicts the stream that has been
// silent longest; one that delivered bytes recently stays.
TEST(GossipTransport, AtTheCapTheOldestSilentStreamMakesRoom) {
  asio::io_context io;
  const crypto::Keyring ring(crypto::ClusterKey::generate());
  GossipTransportOptions o;
  o.max_inbound_streams = 4;
  Server server(io, ring, "127.0.22.111", 29222, o);
  ASSERT_TRUE(server.transport->listen().is_ok());
  const auto& st = server.stats();

  std::vector<std::unique_ptr<RawSocket>> s;
  for (int i = 0; i < 4; ++i) {
    s.push_back(std::make_unique<RawSocket>(io, "127.0.22.112", "127.0.22.111", 29222));
    s.back()->header(1 << 20);
    ASSERT_TRUE(run_until(io, [&] { return st.streams_in == static_cast<uint64_t>(i + 1); }));
    s.back()->watch();
  }
  // The first one speaks again: now s[1] is the longest silent.
  s[0]->write(std::vector<uint8_t>(1000, 1));
  ASSERT_TRUE(run_until(io, [&] { return st.stream_bytes_received >= 1000; }));
  RawSocket newcomer(io, "127.0.22.112", "127.0.22.111", 29222);
  newcomer.watch();
  ASSERT_TRUE(run_until(io, [&] { return s[1]->closed(); }));
  EXPECT_EQ(st.streams_in_evicted, 1u);
  EXPECT_EQ(st.streams_in_refused, 0u);
  EXPECT_FALSE(s[0]->result.has_value());
  EXPECT_FALSE(s[2]->result.has_value());
  EXPECT_FALSE(newcomer.result.has_value());

  // Behind a flood of silent streams, a real request gets its answer.
  std::vector<std::unique_ptr<RawSocket>> flood;
  for (int i = 0; i < 50; ++i) {
    flood.push_back(std::make_unique<RawSocket>(io, "127.0.22.113", "127.0.22.111", 29222));
    flood.back()->header(8 << 20);
  }
  Client client(io, ring, "127.0.22.114");
  client.ask(7, "127.0.22.111", 29222);
  ASSERT_TRUE(run_until(
      io, [&] { return !client.replies.empty(); }, 2s));
  EXPECT_EQ(client.replies[0].second, "pong");
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0], "ping");
}

// Out of file descriptors, accept() fails until one is freed: the loop
// retries on a timer instead of spinning, and admits the waiting peer once
// it can.
TEST(GossipTransport, AcceptErrorsBackOffInsteadOfSpinning) {
  if (!testing::FdExhaustion::kUsable) {
    GTEST_SKIP() << "runs out of descriptors, which the sanitizers need (fd_exhaustion.h)";
  }
  asio::io_context io;
  const crypto::Keyring ring(crypto::ClusterKey::generate());
  Server server(io, ring, "127.0.22.121", 29223);
  ASSERT_TRUE(server.transport->listen().is_ok());
  RawSocket waiting(io, "127.0.22.122", "127.0.22.121", 29223);
  uint64_t errors = 0;
  {
    testing::FdExhaustion full;
    ASSERT_TRUE(full.ok());
    run_for(io, 1s);
    errors = server.stats().accept_errors;
    EXPECT_EQ(server.stats().streams_in, 0u);
  }
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 20u) << "accept() was retried without a pause";
  ASSERT_TRUE(run_until(io, [&] { return server.stats().streams_in == 1; }));
}

}  // namespace
}  // namespace shoal::node
