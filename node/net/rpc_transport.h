// The encrypted RPC transport (DESIGN.md §2/§8) on Boost.Asio: long-lived TCP
// connections between agents on --rpc-port that carry Raft, forwarded
// requests and bids. Every connection opens with the handshake of
// core/rpc_handshake.h (docs/rpc-handshake.md) and then carries frames of its
// SecureChannel, one secretstream per direction.
//
// Wire format: every frame, handshake frames included, is a 4-byte big-endian
// length and then that many bytes. Handshake frames are at most
// kRpcMaxHandshakeFrame bytes, channel frames at most kRpcMaxWireFrame; a
// larger length prefix, a handshake message that does not verify or a frame
// that does not open closes the connection for good.
//
// RpcServer accepts connections, runs the responder side and hands every
// opened frame to its handler with the peer's NodeId and an RpcReply that
// sends frames back on the same connection. RpcClient keeps one connection per
// peer address (dialled from the agent's own source address, so iptables
// partition tests can single it out), runs the initiator side, queues frames
// while it connects, and reconnects with backoff. Frames a server sends back
// reach the client's handler the same way.
//
// Bounds (nothing a peer does makes us buffer without limit): connections per
// server (at max_connections a newcomer evicts the oldest connection still in
// its handshake, so silent connections cannot keep a real peer out; only when
// every slot holds an open channel is it refused), unauthenticated bytes (a
// read buffer of about 1 KiB and 1 KiB per handshake frame, and a deadline
// for the whole handshake), frame size, bytes queued for sending per
// connection (overflow closes the connection and fails what it had queued),
// and time: an open channel that carries nothing either way for idle_timeout
// is closed (the client redials on its next send; Raft's heartbeats keep a
// working cluster's channels busy); a connection whose sent data the peer
// does not acknowledge for user_timeout is aborted (a partition or a dead
// peer), so that frames do not wait out the kernel's retransmission backoff.
// accept() errors (EMFILE) pause the server's accept loop for accept_retry
// instead of spinning.
//
// Keys: a connection's handshake uses one key of the keyring (the client's
// primary, any key on the server). set_keyring() (rotation) applies to later
// handshakes and closes open channels whose key is no longer in the keyring;
// a handshake that completes under a key removed meanwhile fails.
//
// Threading: an RpcServer or RpcClient and all its connections live on one
// caller-provided io_context, driven by one thread. Every member function and
// RpcReply::send() must be called on that thread (from another thread,
// asio::post() the call); handlers are called on it. Only counters() may be
// read from any thread.
#pragma once

#include <sodium.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/rpc_handshake.h"
#include "core/status.h"
#include "core/time.h"

namespace shoal::node {

// The largest handshake frame accepted before the peer has proved anything.
inline constexpr size_t kRpcMaxHandshakeFrame = 1024;
// The largest channel frame on the wire: a full plaintext plus the stream's tag.
inline constexpr size_t kRpcMaxWireFrame =
    SecureChannel::kMaxFrame + crypto_secretstream_xchacha20poly1305_ABYTES;

struct RpcOptions {
  // Server: the address to listen on. Client: the source address outgoing
  // connections bind to before connecting (unspecified: the kernel picks).
  boost::asio::ip::address bind;
  uint16_t port = 0;                  // server only; the --rpc-port
  size_t max_connections = 256;       // server: at this many, evict the oldest handshake
  size_t max_queue_bytes = 64 << 20;  // per connection, framed bytes not yet written
  // From accept (or from the start of connect) to an open channel.
  std::chrono::milliseconds handshake_timeout{5'000};
  // Client: the wait before redialling a peer after a failed attempt,
  // doubled per consecutive failure up to the maximum; reset when a
  // handshake succeeds.
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{10'000};
  // An open channel that carries no frame either way for this long is
  // closed (the client redials on its next send). Longer than any request
  // waits for its answer: a forwarded blocking query waits up to 10 minutes.
  // The agent gives its server twice its client's, so that the dialling side
  // closes first and never loses a frame to a close from the other end.
  std::chrono::milliseconds idle_timeout{15 * 60'000};
  // An open connection whose sent data the peer's kernel has not
  // acknowledged for this long is aborted (Linux TCP_USER_TIMEOUT: the read
  // fails with ETIMEDOUT, counted in closed_stalled), and the client redials
  // on its next send, at once. Without it, frames queued during a partition
  // wait for the kernel's retransmission timer, which backs off
  // exponentially (0.2, 0.4, 0.8, 1.6, 3.2, 6.4 s ..., on through
  // back-to-back partitions): after the network heals, a prevote and its
  // answer could sit in a stalled socket for seconds while no election can
  // finish. The kernel clamps its timer to this deadline (measured on Linux
  // 6.18 over loopback: 2 s aborts about 2.7 s after the first lost
  // segment), and a fresh connection retries its SYN every second or so.
  // Set once a connection is established: dialling stays under
  // handshake_timeout. A connection that waits for an answer has nothing
  // unacknowledged and is not affected; one to a peer that stops reading
  // (paused, its receive buffer full) is. About Raft's election timeout; 0
  // keeps the kernel's default (about 15 minutes); ignored where
  // TCP_USER_TIMEOUT does not exist.
  std::chrono::milliseconds user_timeout{2'000};
  // Server: the pause before accepting again after accept() failed (out of
  // file descriptors, say), so the loop does not spin.
  std::chrono::milliseconds accept_retry{100};
  // What the backoff and idle checks read; null: a SteadyClock.
  std::shared_ptr<const Clock> clock;
};

// Monotonic counters of one server or client (connections_active is a
// gauge), for /v1/metrics. Written on the io thread, readable anywhere.
struct RpcCounters {
  std::atomic<uint64_t> connections_accepted{0};  // server: admitted by accept
  std::atomic<uint64_t> connections_dialled{0};   // client: connect attempts
  std::atomic<uint64_t> connections_active{0};    // not yet closed, handshaking ones included
  std::atomic<uint64_t> handshakes_ok{0};
  std::atomic<uint64_t> handshakes_failed_auth{0};     // wrong key, label or transcript
  std::atomic<uint64_t> handshakes_failed_decode{0};   // malformed or oversized message
  std::atomic<uint64_t> handshakes_failed_timeout{0};  // handshake_timeout passed
  std::atomic<uint64_t> handshakes_failed_io{0};       // refused, reset, closed by the peer
  std::atomic<uint64_t> frames_received{0};            // opened and handed to the handler
  std::atomic<uint64_t> frames_sent{0};                // written to the socket in full
  std::atomic<uint64_t> frames_rejected_auth{0};       // failed to open: connection closed
  std::atomic<uint64_t> frames_dropped{0};             // queued, then failed with their connection
  std::atomic<uint64_t> closed_connection_limit{0};    // server: refused, every slot authenticated
  std::atomic<uint64_t> closed_evicted{0};      // server: oldest handshake closed for a newcomer
  std::atomic<uint64_t> closed_idle{0};         // open channel idle for idle_timeout
  std::atomic<uint64_t> closed_stalled{0};      // data unacknowledged for user_timeout
  std::atomic<uint64_t> closed_key_removed{0};  // its handshake's key left the keyring
  std::atomic<uint64_t> accept_errors{0};       // server: accept() failed (e.g. EMFILE)
  std::atomic<uint64_t> closed_frame_limit{0};  // length prefix over the bound
  std::atomic<uint64_t> closed_queue_limit{0};  // over max_queue_bytes
};

namespace detail {
class RpcConnection;
struct RpcState;
}  // namespace detail

// Sends frames back on the connection a frame came in on. Cheap to copy; does
// not keep the connection open.
class RpcReply {
 public:
  RpcReply() = default;
  // Queues one frame. kUnavailable once the connection has closed; kTooLarge
  // for a frame over SecureChannel::kMaxFrame (nothing sent) or when the
  // connection's queue overflows (the connection closes).
  Status send(std::vector<uint8_t> plaintext) const;
  // Closes the connection (e.g. on a message that does not decode).
  void close() const;

 private:
  friend class detail::RpcConnection;
  explicit RpcReply(std::weak_ptr<detail::RpcConnection> c) : conn_(std::move(c)) {}
  std::weak_ptr<detail::RpcConnection> conn_;
};

// An opened frame: who sent it (the NodeId claimed in the handshake, which
// proves only that the sender holds the cluster key), the plaintext, and the
// way back.
using RpcFrameHandler =
    std::function<void(const NodeId& peer, std::vector<uint8_t> plaintext, RpcReply reply)>;
// A client connection that closed other than by stop(): why, how many
// queued frames were lost with it, and whether it had opened. A connection
// that never opened sent nothing: every frame queued on it is known not to
// have reached the peer. Once it had opened, frames already written may or
// may not have been read by the peer.
using RpcFailureHandler =
    std::function<void(const boost::asio::ip::tcp::endpoint& peer, const Status& why,
                       size_t frames_dropped, bool was_open)>;

class RpcServer {
 public:
  RpcServer(boost::asio::io_context& io, crypto::Keyring keyring, NodeId self, std::string label,
            RpcOptions options, RpcFrameHandler on_frame);
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;
  ~RpcServer();  // stop()s

  // Binds options.bind:options.port and starts accepting.
  [[nodiscard]] Status listen();
  // Closes the listener and every connection; no handler is called afterwards.
  void stop();
  // New handshakes accept hellos under any key of this keyring (rotation);
  // open channels whose handshake used a key not in it are closed.
  void set_keyring(crypto::Keyring keyring);
  const RpcCounters& counters() const;

 private:
  std::shared_ptr<detail::RpcState> state_;
};

class RpcClient {
 public:
  RpcClient(boost::asio::io_context& io, crypto::Keyring keyring, NodeId self, std::string label,
            RpcOptions options, RpcFrameHandler on_frame, RpcFailureHandler on_failure);
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;
  ~RpcClient();  // stop()s

  // Queues one frame for `to`, dialling it first if there is no connection
  // (after the backoff if the last attempt failed). Ok means queued, not
  // delivered: later failures go to the failure handler. Errors as
  // RpcReply::send(); kUnavailable after stop().
  Status send(const boost::asio::ip::tcp::endpoint& to, std::vector<uint8_t> plaintext);
  // Closes the connection to `to`, if any (its queued frames fail).
  void disconnect(const boost::asio::ip::tcp::endpoint& to);
  // Closes every connection; no handler is called afterwards.
  void stop();
  // Later handshakes use this keyring's primary key; open channels whose
  // handshake used a key not in it are closed (and redialled on demand).
  void set_keyring(crypto::Keyring keyring);
  const RpcCounters& counters() const;

 private:
  std::shared_ptr<detail::RpcState> state_;
};

}  // namespace shoal::node
