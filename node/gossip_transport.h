// The gossip transports on Asio: one UDP socket and one TCP listener on
// --bind:--gossip-port, and outgoing TCP streams for the core's
// StreamRequests. Every datagram and every stream frame goes through the
// GossipChannel (sealed on the way out, opened and replay-checked on the way
// in); only plaintexts reach the handlers.
//
// Stream protocol: a stream carries one request and at most one reply, each
// one frame: a 4-byte big-endian length, then that many sealed bytes (at most
// kMaxFrameBytes). A frame that is too large or fails to open closes the
// stream. When --bind is a specific address, outgoing datagrams and streams
// leave from it (streams bind before they connect).
//
// Runs on the agent's io_context thread; handlers are called on it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/status.h"
#include "gossip/gossip.h"
#include "node/gossip_channel.h"

namespace shoal::node {

inline constexpr size_t kMaxFrameBytes = 8 << 20;

struct GossipTransportOptions {
  boost::asio::ip::address bind;
  uint16_t port = 0;
  size_t max_frame_bytes = kMaxFrameBytes;
  size_t max_inbound_streams = 64;  // beyond this, new connections are closed at once
  // How long an accepted stream may take to send its request and take the reply.
  std::chrono::milliseconds inbound_timeout{10'000};
};

struct GossipTransportStats {
  uint64_t udp_packets_sent = 0;
  uint64_t udp_bytes_sent = 0;
  uint64_t udp_send_errors = 0;
  uint64_t udp_packets_received = 0;  // every datagram, rejected ones included
  uint64_t udp_bytes_received = 0;
  uint64_t streams_out_ok = 0;
  uint64_t streams_out_failed = 0;
  uint64_t streams_in = 0;
  uint64_t streams_in_refused = 0;  // over max_inbound_streams
  uint64_t stream_bytes_sent = 0;
  uint64_t stream_bytes_received = 0;
};

class GossipTransport {
 public:
  // A datagram that opened.
  using PacketHandler =
      std::function<void(const gossip::Address& from, std::vector<uint8_t> plaintext)>;
  // A request frame that opened; the reply plaintext (empty: no reply), or an
  // error that closes the stream.
  using StreamHandler = std::function<Result<std::vector<uint8_t>>(const gossip::Address& from,
                                                                   std::vector<uint8_t> plaintext)>;
  // The outcome of open_stream(), exactly once per request unless stopped.
  using ReplyHandler = std::function<void(uint64_t id, Result<std::vector<uint8_t>> reply)>;

  GossipTransport(boost::asio::io_context& io, GossipChannel& channel,
                  GossipTransportOptions options, PacketHandler on_packet, StreamHandler on_stream,
                  ReplyHandler on_reply);
  GossipTransport(const GossipTransport&) = delete;
  GossipTransport& operator=(const GossipTransport&) = delete;
  ~GossipTransport();  // stop()s

  // Binds UDP and TCP and starts receiving.
  [[nodiscard]] Status listen();
  void send(const gossip::Packet& packet);
  void open_stream(const gossip::StreamRequest& request);
  // Closes the sockets and every stream; no handler is called afterwards.
  void stop();

  const GossipTransportStats& stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace shoal::node
