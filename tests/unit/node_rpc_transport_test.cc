// The encrypted RPC transport (node/net/rpc_transport.h) over loopback: frames
// both ways over one reused connection, a wrong key getting nothing through,
// garbage and oversized length prefixes, the handshake deadline, the
// connection limit, the outbound queue limit, and reconnecting after a server
// restart, evicting handshakes at the connection limit, the idle timeout,
// key removal, accept errors (EMFILE) backing off, and TCP_USER_TIMEOUT set
// on both ends. Everything runs on one io_context in the test thread; waits
// are for conditions, with deadlines.
// Addresses 127.0.9.N, ports 290NN.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "node/net/rpc_transport.h"
#include "tests/unit/fd_exhaustion.h"

namespace shoal::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

const NodeId kServerId(0, 0x91);
const NodeId kClientId(0, 0x92);
const std::string kLabel = "rpc-test";

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

tcp::endpoint ep(const char* ip, uint16_t port) { return {asio::ip::make_address(ip), port}; }

// Runs `io` until `pred` holds or `timeout` passes; returns pred().
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

RpcOptions server_options(const char* ip, uint16_t port) {
  RpcOptions o;
  o.bind = asio::ip::make_address(ip);
  o.port = port;
  return o;
}

RpcOptions client_options(const char* ip) {
  RpcOptions o;
  o.bind = asio::ip::make_address(ip);
  o.reconnect_backoff_min = 20ms;
  o.reconnect_backoff_max = 200ms;
  return o;
}

// A plain TCP socket from `src` to `to`, for speaking garbage or nothing.
struct RawSocket {
  RawSocket(asio::io_context& io, const char* src, const tcp::endpoint& to) : socket(io) {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(src), 0));
    socket.connect(to);  // completes from the listen backlog
  }
  void write(const std::vector<uint8_t>& b) { asio::write(socket, asio::buffer(b)); }
  // Starts waiting for the server to close the connection.
  void watch() {
    socket.async_read_some(asio::buffer(buf), [this](const error_code& e, size_t) { result = e; });
  }
  bool closed() const { return result.has_value() && result->failed(); }

  tcp::socket socket;
  std::array<uint8_t, 64> buf{};
  std::optional<error_code> result;
};

struct Failure {
  tcp::endpoint peer;
  Status why;
  size_t dropped;
  bool was_open;
};

TEST(RpcTransport, ExchangesFramesBothWaysOverOneConnection) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  std::vector<std::string> at_server;
  RpcServer server(io, key, kServerId, kLabel, server_options("127.0.9.1", 29001),
                   [&](const NodeId& peer, std::vector<uint8_t> p, RpcReply reply) {
                     EXPECT_EQ(peer, kClientId);
                     at_server.push_back(text(p));
                     EXPECT_TRUE(reply.send(bytes("pong " + text(p))).is_ok());
                   });
  ASSERT_TRUE(server.listen().is_ok());
  std::vector<std::string> at_client;
  std::vector<Failure> failures;
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.2"),
      [&](const NodeId& peer, std::vector<uint8_t> p, RpcReply) {
        EXPECT_EQ(peer, kServerId);
        at_client.push_back(text(p));
      },
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });

  constexpr int kFrames = 50;
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(client.send(ep("127.0.9.1", 29001), bytes("ping " + std::to_string(i))).is_ok());
  }
  ASSERT_TRUE(run_until(io, [&] { return at_client.size() == kFrames; }));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(at_server[i], "ping " + std::to_string(i));
    EXPECT_EQ(at_client[i], "pong ping " + std::to_string(i));
  }
  // Later sends reuse the open connection too.
  ASSERT_TRUE(client.send(ep("127.0.9.1", 29001), bytes("late")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_client.size() == kFrames + 1; }));

  EXPECT_EQ(server.counters().connections_accepted, 1u);
  EXPECT_EQ(server.counters().connections_active, 1u);
  EXPECT_EQ(server.counters().handshakes_ok, 1u);
  EXPECT_EQ(server.counters().frames_received, kFrames + 1u);
  EXPECT_EQ(server.counters().frames_sent, kFrames + 1u);
  EXPECT_EQ(client.counters().connections_dialled, 1u);
  EXPECT_EQ(client.counters().frames_sent, kFrames + 1u);
  EXPECT_EQ(client.counters().frames_received, kFrames + 1u);
  EXPECT_TRUE(failures.empty());
}

// Frames of every size, small ones packed many to a read and large ones
// spanning many reads, arrive whole and in order (the read-ahead buffer).
TEST(RpcTransport, SmallAndLargeFramesArriveWholeAndInOrder) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  std::vector<std::vector<uint8_t>> got;
  RpcServer server(io, key, kServerId, kLabel, server_options("127.0.9.16", 29016),
                   [&](const NodeId&, std::vector<uint8_t> p, RpcReply) { got.push_back(p); });
  ASSERT_TRUE(server.listen().is_ok());
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.17"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status&, size_t, bool) {});
  std::vector<std::vector<uint8_t>> sent;
  const size_t sizes[] = {1, 65536, 3, 65535, 200000, 5, 1 << 20, 0, 7, 131072};
  for (int round = 0; round < 3; ++round) {
    for (size_t n : sizes) {
      std::vector<uint8_t> f(n);
      for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(i * 31 + n + round);
      sent.push_back(f);
    }
  }
  for (int i = 0; i < 300; ++i) sent.push_back(bytes("tiny " + std::to_string(i)));
  for (const auto& f : sent) ASSERT_TRUE(client.send(ep("127.0.9.16", 29016), f).is_ok());
  ASSERT_TRUE(run_until(
      io, [&] { return got.size() == sent.size(); }, 10s))
      << got.size();
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << "frame " << i;
}

TEST(RpcTransport, AWrongClusterKeyGetsNoFrameThrough) {
  asio::io_context io;
  int handled = 0;
  RpcServer server(io, crypto::Keyring(crypto::ClusterKey::generate()), kServerId, kLabel,
                   server_options("127.0.9.3", 29003),
                   [&](const NodeId&, std::vector<uint8_t>, RpcReply) { ++handled; });
  ASSERT_TRUE(server.listen().is_ok());
  std::vector<Failure> failures;
  RpcClient client(
      io, crypto::Keyring(crypto::ClusterKey::generate()), kClientId, kLabel,
      client_options("127.0.9.4"), [&](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });

  ASSERT_TRUE(client.send(ep("127.0.9.3", 29003), bytes("let me in")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].peer, ep("127.0.9.3", 29003));
  EXPECT_EQ(failures[0].dropped, 1u);
  EXPECT_FALSE(failures[0].was_open) << "a refused handshake sent nothing";
  ASSERT_TRUE(run_until(io, [&] { return server.counters().handshakes_failed_auth == 1; }));
  EXPECT_EQ(server.counters().handshakes_ok, 0u);
  EXPECT_EQ(server.counters().connections_active, 0u);
  EXPECT_EQ(client.counters().handshakes_ok, 0u);
  EXPECT_EQ(client.counters().frames_sent, 0u);
  EXPECT_EQ(handled, 0);
}

TEST(RpcTransport, GarbageAndHugeLengthPrefixesCloseTheConnection) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  std::vector<std::string> at_server;
  RpcServer server(
      io, key, kServerId, kLabel, server_options("127.0.9.5", 29005),
      [&](const NodeId&, std::vector<uint8_t> p, RpcReply) { at_server.push_back(text(p)); });
  ASSERT_TRUE(server.listen().is_ok());
  const auto& c = server.counters();

  // An HTTP request: "GET " read as a length is far over the handshake bound.
  RawSocket http(io, "127.0.9.6", ep("127.0.9.5", 29005));
  http.write(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  http.watch();
  ASSERT_TRUE(run_until(io, [&] { return http.closed(); }));
  EXPECT_EQ(c.closed_frame_limit, 1u);
  EXPECT_EQ(c.handshakes_failed_decode, 1u);

  // A well-framed hello of noise.
  RawSocket noise(io, "127.0.9.6", ep("127.0.9.5", 29005));
  std::vector<uint8_t> frame = {0, 0, 0, 16};
  frame.resize(20, 0xff);
  noise.write(frame);
  noise.watch();
  ASSERT_TRUE(run_until(io, [&] { return noise.closed(); }));
  EXPECT_EQ(c.handshakes_failed_decode, 2u);

  // The largest possible length prefix.
  RawSocket huge(io, "127.0.9.6", ep("127.0.9.5", 29005));
  huge.write({0xff, 0xff, 0xff, 0xff});
  huge.watch();
  ASSERT_TRUE(run_until(io, [&] { return huge.closed(); }));
  EXPECT_EQ(c.closed_frame_limit, 2u);
  EXPECT_EQ(c.handshakes_failed_decode, 3u);
  EXPECT_EQ(c.connections_active, 0u);

  // The server still serves a real client.
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.7"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status& s, size_t, bool) { ADD_FAILURE() << s.to_string(); });
  ASSERT_TRUE(client.send(ep("127.0.9.5", 29005), bytes("hello")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 1; }));
  EXPECT_EQ(at_server[0], "hello");
  EXPECT_EQ(c.connections_accepted, 4u);
}

TEST(RpcTransport, ASilentConnectionIsClosedAtTheHandshakeDeadline) {
  asio::io_context io;
  RpcOptions o = server_options("127.0.9.8", 29008);
  o.handshake_timeout = 200ms;
  RpcServer server(io, crypto::Keyring(crypto::ClusterKey::generate()), kServerId, kLabel, o,
                   [](const NodeId&, std::vector<uint8_t>, RpcReply) {});
  ASSERT_TRUE(server.listen().is_ok());

  const auto start = std::chrono::steady_clock::now();
  RawSocket silent(io, "127.0.9.9", ep("127.0.9.8", 29008));
  silent.watch();
  ASSERT_TRUE(run_until(io, [&] { return silent.closed(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(server.counters().handshakes_failed_timeout, 1u);
  EXPECT_EQ(server.counters().connections_active, 0u);
}

// At max_connections a newcomer evicts the oldest connection still in its
// handshake: silent connections cannot lock real peers out.
TEST(RpcTransport, AtTheLimitTheOldestHandshakeIsEvictedForANewcomer) {
  asio::io_context io;
  RpcOptions o = server_options("127.0.9.10", 29010);
  o.max_connections = 2;
  o.handshake_timeout = 30s;
  RpcServer server(io, crypto::Keyring(crypto::ClusterKey::generate()), kServerId, kLabel, o,
                   [](const NodeId&, std::vector<uint8_t>, RpcReply) {});
  ASSERT_TRUE(server.listen().is_ok());
  const auto& c = server.counters();
  const auto to = ep("127.0.9.10", 29010);

  RawSocket first(io, "127.0.9.11", to);
  ASSERT_TRUE(run_until(io, [&] { return c.connections_accepted == 1; }));
  RawSocket second(io, "127.0.9.11", to);
  ASSERT_TRUE(run_until(io, [&] { return c.connections_accepted == 2; }));
  first.watch();
  second.watch();
  RawSocket third(io, "127.0.9.11", to);
  third.watch();
  ASSERT_TRUE(run_until(io, [&] { return first.closed(); }));
  ASSERT_TRUE(run_until(io, [&] { return c.connections_accepted == 3; }));
  EXPECT_EQ(c.closed_evicted, 1u);
  EXPECT_EQ(c.closed_connection_limit, 0u);
  EXPECT_FALSE(second.result.has_value());
  EXPECT_FALSE(third.result.has_value());
  EXPECT_EQ(c.connections_active, 2u);

  // A freed slot admits the next one without evicting anybody.
  second.socket.close();
  ASSERT_TRUE(run_until(io, [&] { return c.connections_active == 1; }));
  RawSocket fourth(io, "127.0.9.11", to);
  ASSERT_TRUE(run_until(io, [&] { return c.connections_accepted == 4; }));
  EXPECT_EQ(c.closed_evicted, 1u);
}

// Many silent connections, then a real client: it gets its channel at once.
TEST(RpcTransport, ARealPeerGetsInPastAFloodOfSilentConnections) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  RpcOptions o = server_options("127.0.9.20", 29020);
  o.max_connections = 16;
  o.handshake_timeout = 30s;
  std::vector<std::string> at_server;
  RpcServer server(
      io, key, kServerId, kLabel, o,
      [&](const NodeId&, std::vector<uint8_t> p, RpcReply) { at_server.push_back(text(p)); });
  ASSERT_TRUE(server.listen().is_ok());
  const auto& c = server.counters();
  std::vector<std::unique_ptr<RawSocket>> silent;
  for (int i = 0; i < 40; ++i) {
    silent.push_back(std::make_unique<RawSocket>(io, "127.0.9.21", ep("127.0.9.20", 29020)));
  }
  ASSERT_TRUE(run_until(io, [&] { return c.connections_accepted == 40; }));
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.22"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status& s, size_t, bool) { ADD_FAILURE() << s.to_string(); });
  ASSERT_TRUE(client.send(ep("127.0.9.20", 29020), bytes("real")).is_ok());
  ASSERT_TRUE(run_until(
      io, [&] { return at_server.size() == 1; }, 2s));
  EXPECT_EQ(c.closed_evicted, 25u);  // 40 + 1 connections for 16 slots
  EXPECT_EQ(c.connections_active, 16u);
}

// When every slot holds an authenticated channel, a newcomer is refused.
TEST(RpcTransport, AtTheLimitWithOnlyOpenChannelsANewcomerIsRefused) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  RpcOptions o = server_options("127.0.9.23", 29023);
  o.max_connections = 1;
  int frames = 0;
  RpcServer server(io, key, kServerId, kLabel, o,
                   [&](const NodeId&, std::vector<uint8_t>, RpcReply) { ++frames; });
  ASSERT_TRUE(server.listen().is_ok());
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.24"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status&, size_t, bool) {});
  ASSERT_TRUE(client.send(ep("127.0.9.23", 29023), bytes("one")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return frames == 1; }));
  RawSocket late(io, "127.0.9.24", ep("127.0.9.23", 29023));
  late.watch();
  ASSERT_TRUE(run_until(io, [&] { return late.closed(); }));
  EXPECT_EQ(server.counters().closed_connection_limit, 1u);
  EXPECT_EQ(server.counters().closed_evicted, 0u);
  ASSERT_TRUE(client.send(ep("127.0.9.23", 29023), bytes("two")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return frames == 2; }));
}

// An open channel that carries nothing for idle_timeout is closed on both
// sides; the client redials on its next send.
TEST(RpcTransport, AnIdleChannelIsClosedAndTheClientRedialsOnDemand) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  RpcOptions so = server_options("127.0.9.25", 29025);
  so.idle_timeout = 1s;
  std::vector<std::string> at_server;
  RpcServer server(
      io, key, kServerId, kLabel, so,
      [&](const NodeId&, std::vector<uint8_t> p, RpcReply) { at_server.push_back(text(p)); });
  ASSERT_TRUE(server.listen().is_ok());
  RpcOptions co = client_options("127.0.9.26");
  co.idle_timeout = 10min;  // the server's timeout closes it
  std::vector<Failure> failures;
  RpcClient client(
      io, key, kClientId, kLabel, co, [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });
  const auto to = ep("127.0.9.25", 29025);

  // Frames more often than the timeout keep the channel open.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(client.send(to, bytes("busy")).is_ok());
    const auto next = start + (i + 1) * 200ms;
    run_until(
        io, [&] { return std::chrono::steady_clock::now() >= next; }, 1s);
  }
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 8; }));
  EXPECT_EQ(server.counters().closed_idle, 0u);
  EXPECT_TRUE(failures.empty());

  // Silence: the server closes the channel, the client notices.
  ASSERT_TRUE(run_until(
      io, [&] { return !failures.empty(); }, 5s));
  EXPECT_EQ(server.counters().closed_idle, 1u);
  EXPECT_EQ(server.counters().connections_active, 0u);
  ASSERT_TRUE(client.send(to, bytes("again")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 9; }));
  EXPECT_EQ(client.counters().connections_dialled, 2u);

  // The client side has its own timeout too.
  RpcOptions quick = client_options("127.0.9.27");
  quick.idle_timeout = 200ms;
  bool quick_failed = false;
  RpcClient quick_client(
      io, key, kClientId, kLabel, quick, [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint&, const Status&, size_t, bool) { quick_failed = true; });
  ASSERT_TRUE(quick_client.send(to, bytes("quick")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 10; }));
  ASSERT_TRUE(run_until(
      io, [&] { return quick_failed; }, 3s));
  EXPECT_EQ(quick_client.counters().closed_idle, 1u);
}

// TCP_USER_TIMEOUT of every TCP socket of this process connected to or
// from `port` (found through /proc/self/fd), keyed "client"/"server" by
// which end has the port; listeners are skipped.
std::vector<std::pair<std::string, int>> user_timeouts(uint16_t port) {
  std::vector<std::pair<std::string, int>> found;
#ifdef TCP_USER_TIMEOUT
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_in local{}, remote{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
        local.sin_family != AF_INET) {
      continue;
    }
    len = sizeof remote;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &len) != 0) continue;
    int type = 0;
    len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    int ms = -1;
    len = sizeof ms;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, &len) != 0) continue;
    if (ntohs(remote.sin_port) == port) found.emplace_back("client", ms);
    if (ntohs(local.sin_port) == port) found.emplace_back("server", ms);
  }
#else
  (void)port;
#endif
  std::sort(found.begin(), found.end());
  return found;
}

// RpcOptions::user_timeout reaches both ends of an established connection
// (what it does, aborting a connection stalled by a partition, needs
// iptables: tests/integration/cluster_partition_test.cc); 0 leaves the
// kernel's default.
TEST(RpcTransport, TheUserTimeoutIsSetOnBothEndsOfAConnection) {
#ifndef TCP_USER_TIMEOUT
  GTEST_SKIP() << "no TCP_USER_TIMEOUT on this platform";
#endif
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  int at_server = 0;
  auto count = [&](const NodeId&, std::vector<uint8_t>, RpcReply) { ++at_server; };
  RpcOptions so = server_options("127.0.9.40", 29040);
  so.user_timeout = 1500ms;
  RpcServer server(io, key, kServerId, kLabel, so, count);
  ASSERT_TRUE(server.listen().is_ok());
  RpcOptions co = client_options("127.0.9.41");
  co.user_timeout = 700ms;
  RpcClient client(
      io, key, kClientId, kLabel, co, [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status&, size_t, bool) {});
  ASSERT_TRUE(client.send(ep("127.0.9.40", 29040), bytes("hello")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server == 1; }));
  const std::vector<std::pair<std::string, int>> want = {{"client", 700}, {"server", 1500}};
  EXPECT_EQ(user_timeouts(29040), want);

  RpcOptions zero_so = server_options("127.0.9.40", 29041);
  zero_so.user_timeout = 0ms;
  RpcServer zero_server(io, key, kServerId, kLabel, zero_so, count);
  ASSERT_TRUE(zero_server.listen().is_ok());
  RpcOptions zero_co = client_options("127.0.9.41");
  zero_co.user_timeout = 0ms;
  RpcClient zero_client(
      io, key, kClientId, kLabel, zero_co, [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [](const tcp::endpoint&, const Status&, size_t, bool) {});
  ASSERT_TRUE(zero_client.send(ep("127.0.9.40", 29041), bytes("hello")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server == 2; }));
  const std::vector<std::pair<std::string, int>> kernel_default = {{"client", 0}, {"server", 0}};
  EXPECT_EQ(user_timeouts(29041), kernel_default);
  // The default is on.
  EXPECT_GT(RpcOptions{}.user_timeout, 0ms);
}

// Key rotation reaches open channels: removing the key a channel's handshake
// used closes it, and a new handshake under that key fails.
TEST(RpcTransport, RemovingAKeyClosesItsChannelsAndRefusesItsHandshakes) {
  asio::io_context io;
  const auto key_a = crypto::ClusterKey::generate();
  const auto key_b = crypto::ClusterKey::generate();
  crypto::Keyring server_ring(key_b);
  ASSERT_TRUE(server_ring.install(key_a).is_ok());
  std::vector<std::string> at_server;
  RpcServer server(
      io, server_ring, kServerId, kLabel, server_options("127.0.9.28", 29028),
      [&](const NodeId&, std::vector<uint8_t> p, RpcReply) { at_server.push_back(text(p)); });
  ASSERT_TRUE(server.listen().is_ok());
  std::vector<Failure> failures;
  RpcClient client(
      io, crypto::Keyring(key_a), kClientId, kLabel, client_options("127.0.9.29"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });
  const auto to = ep("127.0.9.28", 29028);
  ASSERT_TRUE(client.send(to, bytes("under a")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 1; }));
  EXPECT_EQ(server.counters().handshakes_ok, 1u);

  // The server drops key A: the channel opened under it closes.
  crypto::Keyring only_b(key_b);
  server.set_keyring(only_b);
  ASSERT_TRUE(run_until(
      io, [&] { return !failures.empty(); }, 2s));
  EXPECT_EQ(server.counters().closed_key_removed, 1u);
  EXPECT_EQ(server.counters().connections_active, 0u);

  // A new handshake under A fails; nothing more gets through.
  ASSERT_TRUE(client.send(to, bytes("still a")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return server.counters().handshakes_failed_auth == 1; }));
  ASSERT_TRUE(run_until(io, [&] { return failures.size() == 2; }));
  EXPECT_EQ(at_server.size(), 1u);

  // The client moves to B: it gets through again.
  client.set_keyring(only_b);
  ASSERT_TRUE(client.send(to, bytes("under b")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 2; }));
  EXPECT_EQ(at_server.back(), "under b");

  // The client drops a key its channel used: it closes that channel too.
  crypto::Keyring only_a(key_a);
  const size_t before = failures.size();
  client.set_keyring(only_a);
  ASSERT_TRUE(run_until(
      io, [&] { return failures.size() > before; }, 2s));
  EXPECT_EQ(client.counters().closed_key_removed, 1u);
}

TEST(RpcTransport, AnOverfullQueueClosesTheConnectionAndFailsItsFrames) {
  asio::io_context io;
  // A peer that accepts and never answers the hello.
  tcp::acceptor mute(io, ep("127.0.9.12", 29012));
  std::optional<tcp::socket> accepted;
  mute.async_accept([&](const error_code& e, tcp::socket s) {
    if (!e) accepted = std::move(s);
  });
  RpcOptions o = client_options("127.0.9.13");
  o.max_queue_bytes = 1024;
  std::vector<Failure> failures;
  RpcClient client(
      io, crypto::Keyring(crypto::ClusterKey::generate()), kClientId, kLabel, o,
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });
  const auto to = ep("127.0.9.12", 29012);

  // Too large for any connection: refused, nothing closes.
  EXPECT_EQ(client.send(to, std::vector<uint8_t>(SecureChannel::kMaxFrame + 1)).code(),
            StatusCode::kTooLarge);
  ASSERT_TRUE(client.send(to, std::vector<uint8_t>(600)).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  const Status over = client.send(to, std::vector<uint8_t>(600));
  EXPECT_EQ(over.code(), StatusCode::kTooLarge);
  EXPECT_EQ(client.counters().closed_queue_limit, 1u);
  ASSERT_TRUE(run_until(io, [&] { return !failures.empty(); }));
  EXPECT_EQ(failures[0].why.code(), StatusCode::kTooLarge);
  EXPECT_EQ(failures[0].dropped, 1u);
  EXPECT_EQ(client.counters().frames_dropped, 2u);
  EXPECT_EQ(client.counters().connections_active, 0u);
}

TEST(RpcTransport, TheClientReconnectsAfterAServerRestart) {
  asio::io_context io;
  const crypto::Keyring key(crypto::ClusterKey::generate());
  std::vector<std::string> at_server;
  auto handler = [&](const NodeId&, std::vector<uint8_t> p, RpcReply) {
    at_server.push_back(text(p));
  };
  const auto to = ep("127.0.9.14", 29014);
  std::vector<Failure> failures;
  RpcClient client(
      io, key, kClientId, kLabel, client_options("127.0.9.15"),
      [](const NodeId&, std::vector<uint8_t>, RpcReply) {},
      [&](const tcp::endpoint& e, const Status& s, size_t d, bool was_open) {
        failures.push_back({e, s, d, was_open});
      });

  auto first = std::make_unique<RpcServer>(io, key, kServerId, kLabel,
                                           server_options("127.0.9.14", 29014), handler);
  ASSERT_TRUE(first->listen().is_ok());
  ASSERT_TRUE(client.send(to, bytes("one")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 1; }));

  // The server goes away: the client notices the lost connection.
  first.reset();
  ASSERT_TRUE(run_until(io, [&] { return failures.size() == 1; }));
  EXPECT_EQ(client.counters().connections_active, 0u);
  EXPECT_TRUE(failures[0].was_open) << "what it wrote may have been read";

  // Nobody listens: the dial fails and the queued frame with it.
  ASSERT_TRUE(client.send(to, bytes("lost")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return failures.size() == 2; }));
  EXPECT_EQ(failures[1].dropped, 1u);
  EXPECT_FALSE(failures[1].was_open) << "a failed dial sent nothing";

  // A new server on the same port: the next send redials (after the backoff).
  RpcServer second(io, key, kServerId, kLabel, server_options("127.0.9.14", 29014), handler);
  ASSERT_TRUE(second.listen().is_ok());
  ASSERT_TRUE(client.send(to, bytes("two")).is_ok());
  ASSERT_TRUE(client.send(to, bytes("three")).is_ok());
  ASSERT_TRUE(run_until(io, [&] { return at_server.size() == 3; }));
  EXPECT_EQ(at_server[1], "two");
  EXPECT_EQ(at_server[2], "three");
  EXPECT_EQ(client.counters().connections_dialled, 3u);
  EXPECT_EQ(second.counters().connections_accepted, 1u);
  EXPECT_EQ(failures.size(), 2u);
}

// Out of file descriptors, accept() fails until one is freed: the server
// retries on a timer instead of spinning, then admits the waiting peer.
TEST(RpcTransport, AcceptErrorsBackOffInsteadOfSpinning) {
  if (!testing::FdExhaustion::kUsable) {
    GTEST_SKIP() << "runs out of descriptors, which the sanitizers need (fd_exhaustion.h)";
  }
  asio::io_context io;
  RpcServer server(io, crypto::Keyring(crypto::ClusterKey::generate()), kServerId, kLabel,
                   server_options("127.0.9.30", 29030),
                   [](const NodeId&, std::vector<uint8_t>, RpcReply) {});
  ASSERT_TRUE(server.listen().is_ok());
  RawSocket waiting(io, "127.0.9.31", ep("127.0.9.30", 29030));
  uint64_t errors = 0;
  {
    testing::FdExhaustion full;
    ASSERT_TRUE(full.ok());
    const auto until = std::chrono::steady_clock::now() + 1s;
    run_until(
        io, [&] { return std::chrono::steady_clock::now() >= until; }, 2s);
    errors = server.counters().accept_errors;
    EXPECT_EQ(server.counters().connections_accepted, 0u);
  }
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 20u) << "accept() was retried without a pause";
  ASSERT_TRUE(run_until(io, [&] { return server.counters().connections_accepted == 1; }));
}

}  // namespace
}  // namespace shoal::node
