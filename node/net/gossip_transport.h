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
// Before a request frame is whole and opened, an inbound stream proves
// nothing, so what it may cost is bounded: a frame body is read as its bytes
// arrive, in steps of at most 64 KiB, into a buffer that grows only then (a
// length header announcing 8 MiB costs nothing); all inbound streams still
// reading their request share max_unauthenticated_bytes beyond the first
// 64 KiB of each (over it, the holders silent longest are closed to make
// room, the growing stream itself when it is silent longest, so stalled
// streams cannot lock a real peer out); and at max_inbound_streams a newcomer
// evicts the
// stream that has gone longest without delivering a byte among those still
// reading their request, so silent connections cannot keep a real peer out
// (only when every stream is past its request is the newcomer refused).
// accept() errors (EMFILE) pause the accept loop for accept_retry.
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
#include "node/net/gossip_channel.h"

namespace shoal::node {

inline constexpr size_t kMaxFrameBytes = 8 << 20;

struct GossipTransportOptions {
  boost::asio::ip::address bind;
  uint16_t port = 0;
  size_t max_frame_bytes = kMaxFrameBytes;
  // At this many inbound streams a newcomer evicts the longest silent one
  // still reading its request (or is refused when there is none).
  size_t max_inbound_streams = 64;
  // How long an accepted stream may take to send its request and take the reply.
  std::chrono::milliseconds inbound_timeout{10'000};
  // The most bytes all inbound streams still reading their (unauthenticated)
  // request may hold together beyond the first 64 KiB of each; over it, the
  // holders silent longest are closed.
  size_t max_unauthenticated_bytes = 32 << 20;
  // The pause before accepting again after accept() failed (EMFILE).
  std::chrono::milliseconds accept_retry{100};
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
  uint64_t streams_in_refused = 0;      // at max_inbound_streams, none evictable
  uint64_t streams_in_evicted = 0;      // closed to make room for a newcomer
  uint64_t streams_in_over_budget = 0;  // closed at max_unauthenticated_bytes
  uint64_t accept_errors = 0;           // accept() failed (e.g. EMFILE)
  uint64_t unauthenticated_bytes = 0;   // gauge: held by requests being read
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
