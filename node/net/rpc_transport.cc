#include "node/net/rpc_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <climits>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <unordered_set>

#include "node/config/agent_config.h"
#include "node/host/keyring_file.h"
#include "node/net/accept_backoff.h"

namespace shoal::node {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr size_t kLengthBytes = 4;
constexpr size_t kSealOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
// Bodies are read in chunks, so a peer that announces a large frame and then
// stalls holds only the memory of what it actually sent.
constexpr size_t kReadChunk = 64 << 10;
// Until the handshake is done the read-ahead buffer holds one handshake
// frame at most: an unauthenticated connection costs about 1 KiB.
constexpr size_t kHandshakeReadChunk = kRpcMaxHandshakeFrame + kLengthBytes;
constexpr size_t kMaxWriteBatch = 64;  // frames per gathered write
// A read buffer above this is released after its frame instead of kept.
constexpr size_t kKeepBufferBytes = 1 << 20;

std::string endpoint_name(const tcp::endpoint& ep) {
  return format_host_port(ep.address().to_string(), ep.port());
}

// Options of an established connection, client or server side: no Nagle
// delay, and RpcOptions::user_timeout. Failures are logged, not fatal: the
// connection works without them, only slower to notice a stall.
void tune_socket(tcp::socket& socket, const RpcOptions& o) {
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
#ifdef TCP_USER_TIMEOUT
  if (o.user_timeout > std::chrono::milliseconds::zero()) {
    using UserTimeout = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_USER_TIMEOUT>;
    const auto ms = std::min<std::chrono::milliseconds::rep>(o.user_timeout.count(), INT_MAX);
    socket.set_option(UserTimeout(static_cast<int>(ms)), ec);
    if (ec) spdlog::debug("rpc: cannot set TCP_USER_TIMEOUT: {}", ec.message());
  }
#else
  (void)o;
#endif
}
}  // namespace

namespace detail {

// The client's view of one peer address.
struct RpcPeer {
  std::shared_ptr<RpcConnection> conn;  // dialling, handshaking or open; null: none
  unsigned failures = 0;                // consecutive attempts that never opened
  TimePoint next_attempt{};
};

// Shared by a server or client and its connections, so an asynchronous
// handler that runs after stop() (or after the owner is gone) finds the
// stopped flag, not freed memory.
struct RpcState {
  RpcState(asio::io_context& io_, crypto::Keyring k, NodeId s, std::string l, RpcOptions o,
           RpcFrameHandler f, RpcFailureHandler fail, bool is_client)
      : io(io_),
        keyring(std::move(k)),
        self(s),
        label(std::move(l)),
        options(o),
        clock(o.clock ? o.clock : std::make_shared<SteadyClock>()),
        on_frame(std::move(f)),
        on_failure(std::move(fail)),
        client(is_client),
        acceptor(io_),
        accept_backoff(io_, "rpc", o.accept_retry) {}

  asio::io_context& io;
  crypto::Keyring keyring;
  NodeId self;
  std::string label;
  RpcOptions options;
  std::shared_ptr<const Clock> clock;
  RpcFrameHandler on_frame;
  RpcFailureHandler on_failure;  // client only
  bool client;
  tcp::acceptor acceptor;        // server only
  AcceptBackoff accept_backoff;  // server: paces accept() after errors such as EMFILE
  // Server: inbound connections still in their handshake, oldest first (the
  // one evicted when a newcomer finds every slot taken).
  std::list<RpcConnection*> handshaking;
  std::unordered_set<RpcConnection*> connections;  // every live connection object
  std::map<tcp::endpoint, RpcPeer> peers;          // client only
  RpcCounters counters;
  bool stopped = false;
};

void note_open(RpcState& state, RpcConnection& conn);
void note_closed(const std::shared_ptr<RpcState>& state, RpcConnection& conn, const Status& why,
                 size_t dropped, bool was_open);

// One TCP connection, either direction: the handshake, then frames both ways.
class RpcConnection : public std::enable_shared_from_this<RpcConnection> {
 public:
  RpcConnection(std::shared_ptr<RpcState> state, tcp::socket socket, tcp::endpoint peer,
                bool inbound)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        timer_(state_->io),
        peer_(peer),
        name_(endpoint_name(peer)),
        inbound_(inbound) {
    state_->connections.insert(this);
    ++state_->counters.connections_active;
  }
  RpcConnection(const RpcConnection&) = delete;
  RpcConnection& operator=(const RpcConnection&) = delete;
  ~RpcConnection() {
    state_->connections.erase(this);
    leave_handshaking();
    if (phase_ != Phase::kClosed) --state_->counters.connections_active;
  }

  const tcp::endpoint& peer_endpoint() const { return peer_; }
  // The id of the cluster key the handshake used, once the channel is open.
  std::optional<uint32_t> channel_key_id() const {
    if (phase_ != Phase::kOpen || !channel_) return std::nullopt;
    return channel_->key_id();
  }

  void start_inbound() {
    phase_ = Phase::kHandshake;
    in_handshake_ = state_->handshaking.insert(state_->handshaking.end(), this);
    responder_ = std::make_unique<RpcResponder>(state_->keyring, state_->self, state_->label);
    arm_handshake_timer();
    read_header();
  }

  // Dials once `not_before` has passed (the backoff after failed attempts).
  // Always from a later turn of the loop, so send() never re-enters.
  void start_outbound(TimePoint not_before) {
    phase_ = Phase::kWaiting;
    timer_.expires_after(std::max(Duration(0), not_before - state_->clock->now()));
    timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (e || self->phase_ != Phase::kWaiting) return;
      self->dial();
    });
  }

  Status send(std::vector<uint8_t> plaintext) {
    if (phase_ == Phase::kClosed) return Status::unavailable("connection to " + name_ + " closed");
    if (plaintext.size() > SecureChannel::kMaxFrame) {
      return Status::too_large("frame of " + std::to_string(plaintext.size()) +
                               " bytes exceeds the limit of " +
                               std::to_string(SecureChannel::kMaxFrame));
    }
    const size_t framed = kLengthBytes + plaintext.size() + kSealOverhead;
    if (queued_bytes_ + framed > state_->options.max_queue_bytes) {
      ++state_->counters.closed_queue_limit;
      ++state_->counters.frames_dropped;
      Status why = Status::too_large("outbound queue to " + name_ + " over " +
                                     std::to_string(state_->options.max_queue_bytes) + " bytes");
      close(why);
      return why;
    }
    if (phase_ == Phase::kOpen) {
      push(channel_->seal(plaintext), true);
    } else {
      queued_bytes_ += framed;
      pending_.push_back(std::move(plaintext));
    }
    return Status::ok();
  }

  void close(const Status& why) {
    if (phase_ == Phase::kClosed) return;
    auto self = shared_from_this();  // note_closed may drop the last other owner
    const bool was_open = phase_ == Phase::kOpen;
    phase_ = Phase::kClosed;
    leave_handshaking();
    error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // Frames still in out_ may be referenced by a write in flight: they stay
    // until this object goes.
    size_t dropped = pending_.size();
    for (const auto& f : out_) dropped += f.data ? 1 : 0;
    pending_.clear();
    state_->counters.frames_dropped += dropped;
    --state_->counters.connections_active;
    spdlog::debug("rpc: connection {} {} closed: {}", inbound_ ? "from" : "to", name_,
                  why.to_string());
    note_closed(state_, *this, why, dropped, was_open);
  }

 private:
  enum class Phase : uint8_t { kWaiting, kConnecting, kHandshake, kOpen, kClosed };
  struct OutFrame {
    std::array<uint8_t, kLengthBytes> header;
    std::vector<uint8_t> body;
    bool data;  // a channel frame (counted), not a handshake message
  };

  bool handshaking() const { return phase_ == Phase::kConnecting || phase_ == Phase::kHandshake; }

  void leave_handshaking() {
    if (!in_handshake_) return;
    state_->handshaking.erase(*in_handshake_);
    in_handshake_.reset();
  }

  // Closes the open channel once it has carried nothing either way for
  // idle_timeout; checked when the timer fires, so a busy channel costs
  // one clock read per read or write, not a timer reset per frame.
  void arm_idle_timer() {
    const auto idle = state_->options.idle_timeout;
    if (idle <= std::chrono::milliseconds::zero()) return;
    timer_.expires_after(std::max(Duration(0), last_active_ + idle - state_->clock->now()));
    timer_.async_wait([self = shared_from_this(), idle](const error_code& e) {
      if (e || self->phase_ != Phase::kOpen) return;
      if (self->state_->clock->now() - self->last_active_ < idle) return self->arm_idle_timer();
      ++self->state_->counters.closed_idle;
      self->close(Status::unavailable("idle for " + std::to_string(idle.count()) + " ms"));
    });
  }

  void arm_handshake_timer() {
    timer_.expires_after(state_->options.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (e || !self->handshaking()) return;
      ++self->state_->counters.handshakes_failed_timeout;
      self->close(Status::unavailable(
          "handshake with " + self->name_ + " timed out after " +
          std::to_string(self->state_->options.handshake_timeout.count()) + " ms"));
    });
  }

  void dial() {
    phase_ = Phase::kConnecting;
    ++state_->counters.connections_dialled;
    arm_handshake_timer();
    error_code ec;
    socket_.open(peer_.protocol(), ec);
    if (ec) return fail_io("open a socket for " + name_, ec);
    // Bind before connect: the agent's own address is the source peers (and
    // partition tests' iptables rules) see.
    const auto& bind = state_->options.bind;
    if (!bind.is_unspecified() && bind.is_v4() == peer_.address().is_v4()) {
      socket_.bind(tcp::endpoint(bind, 0), ec);
      if (ec) return fail_io("bind " + bind.to_string() + " to dial " + name_, ec);
    }
    socket_.async_connect(peer_, [self = shared_from_this()](const error_code& e) {
      if (self->phase_ != Phase::kConnecting) return;
      if (e) return self->fail_io("connect to " + self->name_, e);
      tune_socket(self->socket_, self->state_->options);
      self->phase_ = Phase::kHandshake;
      self->initiator_ = std::make_unique<RpcInitiator>(self->state_->keyring, self->state_->self,
                                                        self->state_->label);
      self->push(self->initiator_->hello(), false);
      self->read_header();
    });
  }

  // A failed handshake, counted by reason.
  void fail_handshake(const Status& why) {
    auto& c = state_->counters;
    if (why.code() == StatusCode::kAuth) {
      ++c.handshakes_failed_auth;
    } else if (why.code() == StatusCode::kDecode) {
      ++c.handshakes_failed_decode;
    } else {
      ++c.handshakes_failed_io;
    }
    close(why);
  }

  void fail_io(const std::string& what, const error_code& e) {
    if (phase_ == Phase::kClosed) return;
    if (handshaking()) {
      if (e == asio::error::eof) {
        return fail_handshake(Status::unavailable(
            name_ + " closed the connection during the handshake (same cluster key and label?)"));
      }
      return fail_handshake(Status::unavailable(what + ": " + e.message()));
    }
    // ETIMEDOUT on an open channel: the peer did not acknowledge our data
    // for user_timeout (a partition, or a peer gone or paused).
    if (e == asio::error::timed_out) ++state_->counters.closed_stalled;
    close(Status::unavailable(what + ": " + e.message()));
  }

  void push(std::vector<uint8_t> body, bool data) {
    const size_t n = body.size();
    queued_bytes_ += kLengthBytes + n;
    out_.push_back(OutFrame{{static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                             static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)},
                            std::move(body),
                            data});
    write_next();
  }

  // Writes every queued frame (up to kMaxWriteBatch) in one gathered write:
  // under load, Raft appends and acknowledgements queue up while a write is
  // in flight, and one syscall then carries them all.
  void write_next() {
    if (writing_ || out_.empty() || phase_ == Phase::kClosed) return;
    writing_ = true;
    write_buffers_.clear();
    const size_t n = std::min(out_.size(), kMaxWriteBatch);
    for (size_t i = 0; i < n; ++i) {
      write_buffers_.push_back(asio::buffer(out_[i].header));
      write_buffers_.push_back(asio::buffer(out_[i].body));
    }
    asio::async_write(socket_, write_buffers_,
                      [self = shared_from_this(), n](const error_code& e, size_t) {
                        self->writing_ = false;
                        if (self->phase_ == Phase::kClosed) return;
                        if (e) return self->fail_io("write to " + self->name_, e);
                        self->last_active_ = self->state_->clock->now();
                        for (size_t i = 0; i < n; ++i) {
                          const OutFrame& done = self->out_.front();
                          self->queued_bytes_ -= kLengthBytes + done.body.size();
                          if (done.data) ++self->state_->counters.frames_sent;
                          self->out_.pop_front();
                        }
                        self->write_next();
                      });
  }

  // Reads go through a 64 KiB read-ahead buffer: one recv usually brings
  // several frames (a burst of Raft appends or acknowledgements), which are
  // then parsed without another syscall. Bodies larger than what is buffered
  // are read in chunks into in_.
  void read_header() {
    if (buffered() < kLengthBytes) {
      return fill([](RpcConnection& self) { self.read_header(); });
    }
    std::copy_n(rbuf_.data() + rpos_, kLengthBytes, header_in_.data());
    rpos_ += kLengthBytes;
    on_header();
  }

  void on_header() {
    const size_t n = static_cast<size_t>(header_in_[0]) << 24 |
                     static_cast<size_t>(header_in_[1]) << 16 |
                     static_cast<size_t>(header_in_[2]) << 8 | header_in_[3];
    const size_t limit = phase_ == Phase::kOpen ? kRpcMaxWireFrame : kRpcMaxHandshakeFrame;
    if (n > limit) {
      ++state_->counters.closed_frame_limit;
      Status why = Status::decode("frame of " + std::to_string(n) + " bytes from " + name_ +
                                  " exceeds the limit of " + std::to_string(limit));
      if (handshaking()) return fail_handshake(why);
      return close(why);
    }
    in_.clear();
    read_body(n);
  }

  void read_body(size_t n) {
    const size_t take = std::min(buffered(), n - in_.size());
    in_.insert(in_.end(), rbuf_.data() + rpos_, rbuf_.data() + rpos_ + take);
    rpos_ += take;
    if (in_.size() == n) return on_frame();
    fill([n](RpcConnection& self) { self.read_body(n); });
  }

  size_t buffered() const { return rend_ - rpos_; }

  // One async_read_some into the read-ahead buffer, then `next`.
  template <class Next>
  void fill(Next next) {
    if (rpos_ == rend_) {
      rpos_ = rend_ = 0;
    } else if (rpos_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
      rend_ -= rpos_;
      rpos_ = 0;
    }
    const size_t chunk = phase_ == Phase::kOpen ? kReadChunk : kHandshakeReadChunk;
    if (rbuf_.size() < chunk) rbuf_.resize(chunk);
    sync_frames_ = 0;
    socket_.async_read_some(asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
                            [self = shared_from_this(), next](const error_code& e, size_t got) {
                              if (self->phase_ == Phase::kClosed) return;
                              if (e) return self->fail_io("read from " + self->name_, e);
                              self->last_active_ = self->state_->clock->now();
                              self->rend_ += got;
                              next(*self);
                            });
  }

  void on_frame() {
    if (phase_ != Phase::kOpen) return on_handshake_message();
    auto opened = channel_->open(in_);
    if (in_.capacity() > kKeepBufferBytes) in_ = {};
    if (!opened.is_ok()) {
      ++state_->counters.frames_rejected_auth;
      return close(Status(opened.status().code(),
                          "frame from " + name_ + " rejected: " + opened.status().message()));
    }
    ++state_->counters.frames_received;
    if (!state_->stopped && state_->on_frame) {
      state_->on_frame(channel_->peer(), std::move(*opened), RpcReply(weak_from_this()));
    }
    if (phase_ != Phase::kOpen) return;
    // Frames already buffered are parsed in this call chain; every 64 of
    // them, yield to the io_context so one busy peer cannot starve others.
    if (++sync_frames_ < 64) return read_header();
    sync_frames_ = 0;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kOpen) self->read_header();
    });
  }

  void on_handshake_message() {
    if (inbound_ && !hello_seen_) {
      auto welcome = responder_->on_hello(in_);
      if (!welcome.is_ok()) return fail_handshake(welcome.status());
      hello_seen_ = true;
      push(std::move(*welcome), false);
      return read_header();
    }
    if (inbound_) {
      auto channel = responder_->on_confirm(in_);
      if (!channel.is_ok()) return fail_handshake(channel.status());
      open(std::move(*channel));
    } else {
      auto done = initiator_->on_welcome(in_);
      if (!done.is_ok()) return fail_handshake(done.status());
      push(std::move(done->confirm), false);
      open(std::move(done->channel));
    }
    if (phase_ == Phase::kOpen) read_header();
  }

  // The handshake is done: seal what was queued meanwhile, in order.
  void open(std::unique_ptr<SecureChannel> channel) {
    // The keyring may have lost this key while the handshake ran.
    if (state_->keyring.find(channel->key_id()) == nullptr) {
      return fail_handshake(
          Status::auth("key " + key_id_hex(channel->key_id()) + " was removed from the keyring"));
    }
    channel_ = std::move(channel);
    phase_ = Phase::kOpen;
    leave_handshaking();
    timer_.cancel();
    last_active_ = state_->clock->now();
    arm_idle_timer();
    initiator_.reset();
    responder_.reset();
    ++state_->counters.handshakes_ok;
    note_open(*state_, *this);
    std::deque<std::vector<uint8_t>> pending;
    pending.swap(pending_);
    for (auto& p : pending) {
      queued_bytes_ -= kLengthBytes + p.size() + kSealOverhead;
      push(channel_->seal(p), true);
    }
  }

  std::shared_ptr<RpcState> state_;
  tcp::socket socket_;
  asio::steady_timer timer_;  // the backoff wait, then the handshake deadline
  tcp::endpoint peer_;
  std::string name_;
  bool inbound_;
  Phase phase_ = Phase::kWaiting;
  // Our place in RpcState::handshaking (inbound, until the channel opens).
  std::optional<std::list<RpcConnection*>::iterator> in_handshake_;
  TimePoint last_active_{};  // the last read or write on the open channel
  bool hello_seen_ = false;
  std::unique_ptr<RpcInitiator> initiator_;
  std::unique_ptr<RpcResponder> responder_;
  std::unique_ptr<SecureChannel> channel_;
  std::deque<std::vector<uint8_t>> pending_;       // plaintexts sent before the channel opened
  std::deque<OutFrame> out_;                       // framed, not yet fully written
  std::vector<asio::const_buffer> write_buffers_;  // the write in flight (its frames lead out_)
  bool writing_ = false;
  size_t queued_bytes_ = 0;  // framed size of pending_ and out_
  std::array<uint8_t, kLengthBytes> header_in_{};
  std::vector<uint8_t> in_;
  std::vector<uint8_t> rbuf_;  // read-ahead: bytes [rpos_, rend_) not yet parsed
  size_t rpos_ = 0;
  size_t rend_ = 0;
  int sync_frames_ = 0;  // frames parsed since the last read from the socket
};

void note_open(RpcState& state, RpcConnection& conn) {
  if (!state.client) return;
  auto it = state.peers.find(conn.peer_endpoint());
  if (it != state.peers.end() && it->second.conn.get() == &conn) it->second.failures = 0;
}

void note_closed(const std::shared_ptr<RpcState>& state, RpcConnection& conn, const Status& why,
                 size_t dropped, bool was_open) {
  if (!state->client) return;
  const tcp::endpoint ep = conn.peer_endpoint();
  auto it = state->peers.find(ep);
  if (it != state->peers.end() && it->second.conn.get() == &conn) {
    RpcPeer& peer = it->second;
    peer.conn.reset();
    if (was_open) {
      // A connection that worked and then broke: redial at once.
      peer.failures = 0;
      peer.next_attempt = state->clock->now();
    } else {
      ++peer.failures;
      const auto& o = state->options;
      auto backoff = o.reconnect_backoff_min;
      for (unsigned i = 1; i < peer.failures && backoff < o.reconnect_backoff_max; ++i) {
        backoff *= 2;
      }
      peer.next_attempt = state->clock->now() + std::min(backoff, o.reconnect_backoff_max);
    }
  }
  if (state->stopped || !state->on_failure) return;
  // Reported on a later turn of the loop: close() may run inside send().
  asio::post(state->io, [state, ep, why, dropped, was_open] {
    if (!state->stopped) state->on_failure(ep, why, dropped, was_open);
  });
}

// Takes a new keyring: later handshakes use it, and open channels whose
// handshake used a key it no longer holds are closed (a removed key may be
// a stolen one).
void rekey(RpcState& state, crypto::Keyring keyring) {
  state.keyring = std::move(keyring);
  std::vector<std::shared_ptr<RpcConnection>> gone;
  for (RpcConnection* c : state.connections) {
    const auto key_id = c->channel_key_id();
    if (key_id && state.keyring.find(*key_id) == nullptr) gone.push_back(c->shared_from_this());
  }
  for (const auto& c : gone) {
    ++state.counters.closed_key_removed;
    c->close(Status::auth("its key was removed from the keyring"));
  }
}

// Closes every connection of `state`.
void close_all(RpcState& state, const Status& why) {
  std::vector<std::shared_ptr<RpcConnection>> all;
  all.reserve(state.connections.size());
  for (RpcConnection* c : state.connections) all.push_back(c->shared_from_this());
  for (const auto& c : all) c->close(why);
}

}  // namespace detail

using detail::RpcConnection;
using detail::RpcState;

Status RpcReply::send(std::vector<uint8_t> plaintext) const {
  auto conn = conn_.lock();
  if (!conn) return Status::unavailable("connection closed");
  return conn->send(std::move(plaintext));
}

void RpcReply::close() const {
  if (auto conn = conn_.lock()) conn->close(Status::unavailable("closed by the handler"));
}

namespace {

// At max_connections the oldest connection still in its handshake makes
// room: silent or slow unauthenticated connections cannot keep a real peer
// out. Only when every slot holds an open channel is the newcomer refused.
void admit(const std::shared_ptr<RpcState>& state, tcp::socket socket) {
  error_code ep_ec;
  const tcp::endpoint from = socket.remote_endpoint(ep_ec);
  if (ep_ec) return;  // already reset by the peer
  if (state->counters.connections_active >= state->options.max_connections) {
    if (state->handshaking.empty()) {
      ++state->counters.closed_connection_limit;
      spdlog::debug("rpc: refused a connection from {}: {} channels open", endpoint_name(from),
                    state->options.max_connections);
      error_code ignored;
      socket.close(ignored);
      return;
    }
    ++state->counters.closed_evicted;
    auto victim = state->handshaking.front()->shared_from_this();
    victim->close(Status::unavailable("evicted: " + std::to_string(state->options.max_connections) +
                                      " connections open, this one still in its handshake"));
  }
  ++state->counters.connections_accepted;
  tune_socket(socket, state->options);
  std::make_shared<RpcConnection>(state, std::move(socket), from, true)->start_inbound();
}

void accept_next(const std::shared_ptr<RpcState>& state) {
  if (state->stopped) return;
  state->acceptor.async_accept([state](const error_code& ec, tcp::socket socket) {
    if (state->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Usually out of file descriptors: the connection stays in the backlog
      // and accept() would fail again at once, so pause instead of spinning.
      ++state->counters.accept_errors;
      state->accept_backoff.failed(ec, [state] { accept_next(state); });
      return;
    }
    state->accept_backoff.succeeded();
    admit(state, std::move(socket));
    accept_next(state);
  });
}

}  // namespace

RpcServer::RpcServer(asio::io_context& io, crypto::Keyring keyring, NodeId self, std::string label,
                     RpcOptions options, RpcFrameHandler on_frame)
    : state_(std::make_shared<RpcState>(io, std::move(keyring), self, std::move(label), options,
                                        std::move(on_frame), nullptr, false)) {}

RpcServer::~RpcServer() { stop(); }

Status RpcServer::listen() {
  const auto& o = state_->options;
  auto& acceptor = state_->acceptor;
  const std::string where = format_host_port(o.bind.to_string(), o.port);
  auto fail = [&](std::string_view what, const error_code& ec) {
    error_code ignored;
    acceptor.close(ignored);
    return Status::io_error("cannot " + std::string(what) + " " + where + ": " + ec.message());
  };
  error_code ec;
  const tcp::endpoint ep(o.bind, o.port);
  acceptor.open(ep.protocol(), ec);
  if (ec) return fail("open a TCP socket for RPC on", ec);
  // A restarted agent rebinds while its old connections sit in TIME_WAIT.
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR for RPC on", ec);
  acceptor.bind(ep, ec);
  if (ec) return fail("listen for RPC on", ec);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen for RPC on", ec);
  accept_next(state_);
  return Status::ok();
}

void RpcServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->accept_backoff.cancel();
  detail::close_all(*state_, Status::unavailable("server stopped"));
}

void RpcServer::set_keyring(crypto::Keyring keyring) { detail::rekey(*state_, std::move(keyring)); }

const RpcCounters& RpcServer::counters() const { return state_->counters; }

RpcClient::RpcClient(asio::io_context& io, crypto::Keyring keyring, NodeId self, std::string label,
                     RpcOptions options, RpcFrameHandler on_frame, RpcFailureHandler on_failure)
    : state_(std::make_shared<RpcState>(io, std::move(keyring), self, std::move(label), options,
                                        std::move(on_frame), std::move(on_failure), true)) {}

RpcClient::~RpcClient() { stop(); }

Status RpcClient::send(const tcp::endpoint& to, std::vector<uint8_t> plaintext) {
  if (state_->stopped) return Status::unavailable("RPC client stopped");
  detail::RpcPeer& peer = state_->peers[to];
  if (!peer.conn) {
    peer.conn = std::make_shared<RpcConnection>(state_, tcp::socket(state_->io), to, false);
    peer.conn->start_outbound(peer.next_attempt);
  }
  // A local owner: an overflowing queue closes the connection, which drops
  // the peer's reference while send() still runs on it.
  auto conn = peer.conn;
  return conn->send(std::move(plaintext));
}

void RpcClient::disconnect(const tcp::endpoint& to) {
  auto it = state_->peers.find(to);
  if (it == state_->peers.end() || !it->second.conn) return;
  auto conn = it->second.conn;
  conn->close(Status::unavailable("disconnected"));
}

void RpcClient::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  detail::close_all(*state_, Status::unavailable("client stopped"));
  state_->peers.clear();
}

void RpcClient::set_keyring(crypto::Keyring keyring) { detail::rekey(*state_, std::move(keyring)); }

const RpcCounters& RpcClient::counters() const { return state_->counters; }

}  // namespace shoal::node
