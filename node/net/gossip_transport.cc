#include "node/net/gossip_transport.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <list>
#include <optional>
#include <unordered_set>

#include "node/config/agent_config.h"
#include "node/net/accept_backoff.h"

namespace shoal::node {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;

namespace {
class Stream;
constexpr size_t kFrameHeaderBytes = 4;
constexpr size_t kMaxDatagramBytes = 65536;
// Frame bodies are read in steps of at most this many bytes, into a buffer
// that grows only as bytes arrive: a peer that announces 8 MiB and stalls
// holds nothing.
constexpr size_t kReadChunk = 64 << 10;
}  // namespace

// Shared with every asynchronous operation, so a handler that runs after
// stop() (or after the transport is gone) finds the stopped flag, not freed
// memory.
struct GossipTransport::State {
  State(asio::io_context& io_, GossipChannel& ch, GossipTransportOptions o, PacketHandler p,
        StreamHandler s, ReplyHandler r)
      : io(io_),
        channel(ch),
        options(o),
        udp_socket(io_),
        acceptor(io_),
        accept_backoff(io_, "gossip", o.accept_retry),
        on_packet(std::move(p)),
        on_stream(std::move(s)),
        on_reply(std::move(r)) {}

  asio::io_context& io;
  GossipChannel& channel;
  GossipTransportOptions options;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  AcceptBackoff accept_backoff;  // paces accept() after errors such as EMFILE
  std::array<uint8_t, kMaxDatagramBytes> datagram{};
  udp::endpoint datagram_from;
  PacketHandler on_packet;
  StreamHandler on_stream;
  ReplyHandler on_reply;
  std::unordered_set<Stream*> streams;
  size_t inbound_streams = 0;
  // Inbound streams still reading their request (unauthenticated), the one
  // that delivered bytes least recently first: the one evicted at the cap.
  std::list<Stream*> unauthenticated;
  GossipTransportStats stats;
  bool stopped = false;
};

namespace {

using State = GossipTransport::State;

gossip::Address to_address(const asio::ip::address& ip, uint16_t port) {
  return gossip::Address{ip.to_string(), port};
}

// The header of a frame carrying `n` bytes.
std::array<uint8_t, kFrameHeaderBytes> frame_header(size_t n) {
  return {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
          static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
}

size_t frame_length(const std::array<uint8_t, kFrameHeaderBytes>& h) {
  return static_cast<size_t>(h[0]) << 24 | static_cast<size_t>(h[1]) << 16 |
         static_cast<size_t>(h[2]) << 8 | h[3];
}

// One TCP stream, either direction: at most one frame each way.
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::shared_ptr<State> state, tcp::socket socket, bool inbound)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        timer_(state_->io),
        inbound_(inbound),
        holds_slot_(inbound) {
    state_->streams.insert(this);
    if (inbound_) ++state_->inbound_streams;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    state_->streams.erase(this);
    release();
  }

  // Outgoing: connect, send the request, read the reply.
  void start_outbound(const gossip::StreamRequest& request) {
    id_ = request.id;
    peer_ = request.to.to_string();
    if (Status st = connect(request); !st.is_ok()) {
      // Report on a later turn of the loop: the caller is still handling the
      // core's output and must not be re-entered.
      asio::post(state_->io, [self = shared_from_this(), st] { self->finish(st); });
    }
  }

  // Incoming: read the request, answer it.
  void start_inbound() {
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    if (ec) return close();
    from_ = to_address(remote.address(), remote.port());
    peer_ = from_.to_string();
    socket_.non_blocking(true, ec);
    if (ec) return close();
    waiting_ = state_->unauthenticated.insert(state_->unauthenticated.end(), this);
    arm_timer(state_->options.inbound_timeout);
    read_frame();
  }

  // Closed to make room for a newer stream at the cap.
  void evict() {
    ++state_->stats.streams_in_evicted;
    spdlog::debug("gossip: evicted the silent stream from {} to admit another", peer_);
    close();
  }

  void close() {
    release();
    error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  Status connect(const gossip::StreamRequest& request) {
    error_code ec;
    const auto ip = asio::ip::make_address(request.to.ip, ec);
    if (ec) return Status::invalid_argument("\"" + request.to.ip + "\" is not an IP address");
    const tcp::endpoint to(ip, request.to.port);
    socket_.open(to.protocol(), ec);
    if (ec) return Status::io_error("open a socket for " + peer_ + ": " + ec.message());
    socket_.non_blocking(true, ec);
    if (ec) return Status::io_error("configure a socket for " + peer_ + ": " + ec.message());
    // Bind before connect: a specific --bind is the source address peers see.
    const auto& bind = state_->options.bind;
    if (!bind.is_unspecified() && bind.is_v4() == ip.is_v4()) {
      socket_.bind(tcp::endpoint(bind, 0), ec);
      if (ec) {
        return Status::io_error("bind " + bind.to_string() + " for " + peer_ + ": " + ec.message());
      }
    }
    out_ = state_->channel.seal(request.payload);
    arm_timer(request.timeout);
    socket_.async_connect(to, [self = shared_from_this()](const error_code& e) {
      if (e) return self->fail("connect", e);
      self->write_frame([self] { self->read_frame(); });
    });
    return Status::ok();
  }

  void arm_timer(Duration timeout) {
    if (timeout <= Duration::zero()) timeout = std::chrono::seconds(10);
    timeout_ = timeout;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (e) return;  // cancelled: the stream finished first
      self->timed_out_ = true;
      error_code ignored;
      self->socket_.close(ignored);
    });
  }

  template <class Then>
  void write_frame(Then then) {
    header_out_ = frame_header(out_.size());
    const std::array<asio::const_buffer, 2> buffers = {asio::buffer(header_out_),
                                                       asio::buffer(out_)};
    asio::async_write(socket_, buffers,
                      [self = shared_from_this(), then](const error_code& e, size_t n) {
                        if (e) return self->fail("write to", e);
                        self->state_->stats.stream_bytes_sent += n;
                        then();
                      });
  }

  // Gives back the inbound slot and what the request held of the budget.
  void release() {
    leave_unauthenticated();
    if (holds_slot_) {
      holds_slot_ = false;
      --state_->inbound_streams;
    }
  }

  void leave_unauthenticated() {
    if (waiting_) {
      state_->unauthenticated.erase(*waiting_);
      waiting_.reset();
    }
    state_->stats.unauthenticated_bytes -= held_;
    held_ = 0;
  }

  // Bytes arrived: this stream is now the least silent one.
  void note_received(size_t n) {
    state_->stats.stream_bytes_received += n;
    if (waiting_) {
      state_->unauthenticated.splice(state_->unauthenticated.end(), state_->unauthenticated,
                                     *waiting_);
    }
  }

  void read_frame() {
    asio::async_read(socket_, asio::buffer(header_in_),
                     [self = shared_from_this()](const error_code& e, size_t got) {
                       if (e) return self->fail("read from", e);
                       self->note_received(got);
                       self->read_body();
                     });
  }

  void read_body() {
    const size_t n = frame_length(header_in_);
    if (n > state_->options.max_frame_bytes || n < crypto::kPacketOverhead) {
      state_->channel.count_reject(StatusCode::kDecode);
      return finish(Status::decode("frame of " + std::to_string(n) + " bytes from " + peer_ +
                                   " is out of bounds"));
    }
    expected_ = n;
    in_.clear();
    read_chunk();
  }

  // Waits for bytes before making room for them, then takes what arrived.
  void read_chunk() {
    if (in_.size() == expected_) return on_frame();
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const error_code& e) {
      if (e) return self->fail("read from", e);
      self->receive_chunk();
    });
  }

  void receive_chunk() {
    const size_t have = in_.size();
    const size_t want = std::min(kReadChunk, expected_ - have);
    if (!reserve(have + want)) return;
    in_.resize(have + want);
    error_code ec;
    const size_t got = socket_.read_some(asio::buffer(in_.data() + have, want), ec);
    in_.resize(have + got);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return read_chunk();
    if (ec) return fail("read from", ec);
    note_received(got);
    read_chunk();
  }

  // Room for `need` bytes in in_: capacity doubles (up to the frame's size).
  // While the request is unauthenticated, growth past the first chunk comes
  // out of the budget shared by all such streams (the first chunk is free,
  // so a small request never waits on it: 64 streams x 64 KiB at most). Over
  // budget, the holders silent longest are closed to make room, so streams
  // that announce large frames and then stall cannot lock real peers out;
  // when this stream is the one silent longest, it is closed instead.
  // False: this stream was closed.
  bool reserve(size_t need) {
    if (need <= in_.capacity()) return true;
    const size_t cap = std::min(expected_, std::max(need, in_.capacity() * 2));
    if (waiting_) {
      auto& held_total = state_->stats.unauthenticated_bytes;
      const size_t counted = cap > kReadChunk ? cap - kReadChunk : 0;
      const size_t more = counted > held_ ? counted - held_ : 0;
      while (held_total + more > state_->options.max_unauthenticated_bytes) {
        Stream* victim = nullptr;
        for (Stream* s : state_->unauthenticated) {
          if (s->held_ > 0 || s == this) {
            victim = s;
            break;
          }
        }
        ++state_->stats.streams_in_over_budget;
        spdlog::debug("gossip: closed the stream from {}: unauthenticated streams hold {} bytes",
                      victim->peer_, held_total);
        victim->close();  // gives its bytes back
        if (victim == this) return false;
      }
      held_total += more;
      held_ = std::max(held_, counted);
    }
    in_.reserve(cap);
    return true;
  }

  void on_frame() {
    // Whole: from here on the frame is either authenticated or dropped.
    leave_unauthenticated();
    if (state_->stopped) return close();
    auto opened = state_->channel.open(in_);
    std::vector<uint8_t>().swap(in_);
    if (!opened.is_ok()) {
      spdlog::debug("gossip: dropped a stream frame from {}: {}", peer_,
                    opened.status().to_string());
      return finish(Status(opened.status().code(),
                           "reply from " + peer_ + " rejected: " + opened.status().message()));
    }
    if (!inbound_) return finish(std::move(opened->plaintext));
    auto reply = state_->on_stream(from_, std::move(opened->plaintext));
    if (!reply.is_ok()) {
      if (reply.status().code() == StatusCode::kDecode) {
        state_->channel.count_reject(StatusCode::kDecode);
      }
      spdlog::debug("gossip: stream from {} failed: {}", peer_, reply.status().to_string());
      return close();
    }
    if (reply->empty()) return close();
    if (state_->stopped) return close();
    out_ = state_->channel.seal(*reply);
    write_frame([self = shared_from_this()] { self->close(); });
  }

  void fail(const char* what, const error_code& e) {
    if (inbound_) return close();
    if (timed_out_) {
      return finish(Status::unavailable("stream to " + peer_ + " timed out after " +
                                        format_duration(timeout_)));
    }
    if (e == asio::error::eof && std::string_view(what) == "read from") {
      return finish(Status::unavailable(peer_ +
                                        " closed the stream without a reply (does it use the "
                                        "same cluster key and label?)"));
    }
    finish(Status::unavailable(std::string(what) + " " + peer_ + ": " + e.message()));
  }

  void finish(Result<std::vector<uint8_t>> result) {
    close();
    if (inbound_ || reported_) return;
    reported_ = true;
    if (result.is_ok()) {
      ++state_->stats.streams_out_ok;
    } else {
      ++state_->stats.streams_out_failed;
    }
    if (!state_->stopped) state_->on_reply(id_, std::move(result));
  }

  std::shared_ptr<State> state_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  bool inbound_;
  bool holds_slot_;  // counted in inbound_streams
  // Our place in State::unauthenticated while the request is being read.
  std::optional<std::list<Stream*>::iterator> waiting_;
  size_t held_ = 0;      // bytes of the budget this stream holds
  size_t expected_ = 0;  // the size of the frame being read
  bool timed_out_ = false;
  bool reported_ = false;
  uint64_t id_ = 0;
  Duration timeout_{};
  gossip::Address from_;
  std::string peer_;
  std::array<uint8_t, kFrameHeaderBytes> header_out_{};
  std::array<uint8_t, kFrameHeaderBytes> header_in_{};
  std::vector<uint8_t> out_;
  std::vector<uint8_t> in_;
};

void receive_next(const std::shared_ptr<State>& state);

void on_datagram(const std::shared_ptr<State>& state, const error_code& ec, size_t n) {
  if (state->stopped || ec == asio::error::operation_aborted) return;
  if (!ec) {
    ++state->stats.udp_packets_received;
    state->stats.udp_bytes_received += n;
    auto opened = state->channel.open(std::span<const uint8_t>(state->datagram.data(), n));
    if (opened.is_ok()) {
      state->on_packet(to_address(state->datagram_from.address(), state->datagram_from.port()),
                       std::move(opened->plaintext));
    } else {
      spdlog::debug(
          "gossip: dropped a packet from {}: {}",
          format_host_port(state->datagram_from.address().to_string(), state->datagram_from.port()),
          opened.status().to_string());
    }
  }
  // Errors on an unconnected UDP socket (ICMP reports) concern one peer; keep going.
  receive_next(state);
}

void receive_next(const std::shared_ptr<State>& state) {
  if (state->stopped) return;
  state->udp_socket.async_receive_from(
      asio::buffer(state->datagram), state->datagram_from,
      [state](const error_code& ec, size_t n) { on_datagram(state, ec, n); });
}

// At the cap, the stream that has been silent longest among those still
// reading their request makes room: a flood of silent connections cannot
// keep a real peer out. Only when every stream is past its request is the
// newcomer refused.
void admit(const std::shared_ptr<State>& state, tcp::socket socket) {
  if (state->inbound_streams >= state->options.max_inbound_streams) {
    if (state->unauthenticated.empty()) {
      ++state->stats.streams_in_refused;
      error_code ignored;
      socket.close(ignored);
      return;
    }
    state->unauthenticated.front()->evict();
  }
  ++state->stats.streams_in;
  std::make_shared<Stream>(state, std::move(socket), true)->start_inbound();
}

void accept_next(const std::shared_ptr<State>& state) {
  if (state->stopped) return;
  state->acceptor.async_accept([state](const error_code& ec, tcp::socket socket) {
    if (state->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Usually out of file descriptors: the connection stays in the backlog
      // and accept() would fail again at once, so pause instead of spinning.
      ++state->stats.accept_errors;
      state->accept_backoff.failed(ec, [state] { accept_next(state); });
      return;
    }
    state->accept_backoff.succeeded();
    admit(state, std::move(socket));
    accept_next(state);
  });
}

}  // namespace

GossipTransport::GossipTransport(asio::io_context& io, GossipChannel& channel,
                                 GossipTransportOptions options, PacketHandler on_packet,
                                 StreamHandler on_stream, ReplyHandler on_reply)
    : state_(std::make_shared<State>(io, channel, options, std::move(on_packet),
                                     std::move(on_stream), std::move(on_reply))) {}

GossipTransport::~GossipTransport() { stop(); }

Status GossipTransport::listen() {
  const auto& o = state_->options;
  const std::string where = format_host_port(o.bind.to_string(), o.port);
  auto fail = [&](std::string_view what, const error_code& ec) {
    error_code ignored;
    state_->udp_socket.close(ignored);
    state_->acceptor.close(ignored);
    return Status::io_error("cannot " + std::string(what) + " " + where + ": " + ec.message());
  };
  error_code ec;
  const udp::endpoint udp_ep(o.bind, o.port);
  state_->udp_socket.open(udp_ep.protocol(), ec);
  if (ec) return fail("open a UDP socket for gossip on", ec);
  state_->udp_socket.bind(udp_ep, ec);
  if (ec) return fail("listen for gossip (UDP) on", ec);
  // Sends never wait: a full socket buffer drops the datagram, as the network might.
  state_->udp_socket.non_blocking(true, ec);
  if (ec) return fail("configure the gossip socket on", ec);

  const tcp::endpoint tcp_ep(o.bind, o.port);
  state_->acceptor.open(tcp_ep.protocol(), ec);
  if (ec) return fail("open a TCP socket for gossip on", ec);
  state_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR for gossip on", ec);
  state_->acceptor.bind(tcp_ep, ec);
  if (ec) return fail("listen for gossip (TCP) on", ec);
  state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen for gossip (TCP) on", ec);

  receive_next(state_);
  accept_next(state_);
  return Status::ok();
}

void GossipTransport::send(const gossip::Packet& packet) {
  if (state_->stopped) return;
  error_code ec;
  const auto ip = asio::ip::make_address(packet.to.ip, ec);
  if (ec) {
    ++state_->stats.udp_send_errors;
    spdlog::debug("gossip: cannot send to \"{}\": not an IP address", packet.to.ip);
    return;
  }
  const auto sealed = state_->channel.seal(packet.payload);
  state_->udp_socket.send_to(asio::buffer(sealed), udp::endpoint(ip, packet.to.port), 0, ec);
  if (ec) {
    ++state_->stats.udp_send_errors;
    spdlog::debug("gossip: send to {} failed: {}", packet.to.to_string(), ec.message());
    return;
  }
  ++state_->stats.udp_packets_sent;
  state_->stats.udp_bytes_sent += sealed.size();
}

void GossipTransport::open_stream(const gossip::StreamRequest& request) {
  if (state_->stopped) return;
  std::make_shared<Stream>(state_, tcp::socket(state_->io), false)->start_outbound(request);
}

void GossipTransport::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->udp_socket.close(ignored);
  state_->acceptor.close(ignored);
  state_->accept_backoff.cancel();
  const std::vector<Stream*> streams(state_->streams.begin(), state_->streams.end());
  for (Stream* s : streams) s->close();
}

const GossipTransportStats& GossipTransport::stats() const { return state_->stats; }

}  // namespace shoal::node
