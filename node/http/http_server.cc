#include "node/http/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <optional>
#include <string>
#include <unordered_set>

#include "node/config/agent_config.h"
#include "node/host/version.h"
#include "node/net/accept_backoff.h"

namespace shoal::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
class Session;
}  // namespace

// Shared by the server and its sessions, so that a session outliving the
// HttpServer object (its handler still queued in the io_context) stays safe.
struct HttpServer::State {
  State(asio::io_context& io, std::shared_ptr<const Router> r, HttpServerOptions o)
      : acceptor(io), accept_backoff(io, "http"), router(std::move(r)), options(o) {}

  tcp::acceptor acceptor;
  AcceptBackoff accept_backoff;  // paces accept() after errors such as EMFILE
  std::shared_ptr<const Router> router;
  HttpServerOptions options;
  std::unordered_set<Session*> sessions;
  uint64_t refused = 0;  // connections closed at once: max_connections were open
  bool stopping = false;
};

namespace {

// linger_close(): how long and how much a closing connection is drained.
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr size_t kLingerBytes = 1 << 20;

std::string to_std(boost::string_view s) { return {s.data(), s.size()}; }

std::string endpoint_text(const tcp::endpoint& ep) {
  return format_host_port(ep.address().to_string(), ep.port());
}

// One client connection: read a request, route it, write the answer, and
// repeat while the client keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint_text(remote);
    // Synchronous calls never block: watch_client() peeks without waiting.
    stream_.socket().non_blocking(true, ec);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { state_->sessions.erase(this); }

  void start() {
    state_->sessions.insert(this);
    read_request();
  }

  // The server is stopping: drop an idle connection now; let a request in
  // progress finish, but quickly.
  void shutdown() {
    if (phase_ == Phase::kReading) {
      close();
    } else {
      stream_.expires_after(state_->options.shutdown_grace);
    }
  }

 private:
  enum class Phase { kReading, kHandling, kWriting };

  void read_request() {
    phase_ = Phase::kReading;
    parser_.emplace();
    body_limit_ = state_->options.body_limit;
    parser_->body_limit(body_limit_);
    parser_->header_limit(static_cast<uint32_t>(state_->options.header_limit));
    stream_.expires_after(state_->options.read_timeout);
    // The header first: a few paths (a snapshot restore) may send larger bodies.
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t bytes) {
    if (ec) return on_read(ec, bytes);
    const auto target = parser_->get().target();
    const std::string_view path(target.data(), target.size());
    // The token before the body: a client without it cannot make the agent
    // read (and hold) up to a body limit of bytes.
    if (auto refused = state_->router->check_token(path, parser_->get())) {
      method_ = to_std(parser_->get().method_string());
      target_ = to_std(target);
      keep_alive_ = false;
      linger_ = true;  // the body, if the client sent it, stays unread
      version_ = parser_->get().version();
      write_response(std::move(*refused));
      return;
    }
    for (const std::string& large : state_->options.large_body_paths) {
      if (path.substr(0, path.find('?')) == large) {
        body_limit_ = state_->options.large_body_limit;
        parser_->body_limit(body_limit_);
      }
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      if (ec == http::error::body_limit) {
        reply_and_close(HttpResponse::error(
            413, "request body exceeds " + std::to_string(body_limit_) + " bytes"));
      } else if (ec == http::error::header_limit) {
        reply_and_close(HttpResponse::error(431, "request header too large"));
      } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        reply_and_close(HttpResponse::error(400, "malformed HTTP request: " + ec.message()));
      } else {
        // Timeout, a closed connection or stop(): nothing to answer.
        close();
      }
      return;
    }
    // A request that arrives during stop() is still answered, then closed.
    auto req = parser_->release();
    version_ = req.version();
    keep_alive_ = req.keep_alive() && !state_->stopping;

    HttpRequest request;
    request.method = req.method();
    request.target = to_std(req.target());
    request.headers = req.base();
    request.body = std::move(req.body());
    request.remote = remote_;
    if (request.method == http::verb::unknown) {
      reply_and_close(HttpResponse::error(501, "unknown HTTP method"));
      return;
    }

    phase_ = Phase::kHandling;
    ++request_seq_;
    // An asynchronous handler has no operation pending on the io_context;
    // keep it running until the answer is written.
    handling_work_.emplace(stream_.get_executor());
    method_ = to_std(req.method_string());
    target_ = request.target;
    cancel_ = std::make_shared<HttpCancelSignal>();
    request.cancel = cancel_;
    watch_client();
    auto hold = std::make_shared<Hold>(shared_from_this());
    state_->router->dispatch(std::move(request), [hold](HttpResponse r) {
      // Handlers may answer from any thread; write from the session's.
      auto self = hold->session;
      asio::post(self->stream_.get_executor(),
                 [self, r = std::move(r)]() mutable { self->write_response(std::move(r)); });
    });
  }

  // The respond callback's reference to its session. Whichever thread drops
  // the callback last, the session itself is released on its own thread.
  struct Hold {
    explicit Hold(std::shared_ptr<Session> s) : session(std::move(s)) {}
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() {
      auto executor = session->stream_.get_executor();
      asio::post(executor, [s = std::move(session)] {});
    }
    std::shared_ptr<Session> session;
  };

  // While a request is handled, waits for the socket to turn readable: EOF
  // or an error there means the client went away (a half-close counts, as in
  // Go's net/http), and the handler is told through the request's cancel
  // signal. Bytes of a pipelined next request end the watch: they stay in
  // the socket for read_request().
  void watch_client() {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(),
                                                         seq = request_seq_](beast::error_code ec) {
      if (ec || self->phase_ != Phase::kHandling || seq != self->request_seq_) return;
      char byte = 0;
      beast::error_code peek_ec;
      const size_t n = self->stream_.socket().receive(asio::buffer(&byte, 1),
                                                      tcp::socket::message_peek, peek_ec);
      if (!peek_ec && n > 0) return;
      if (peek_ec == asio::error::would_block || peek_ec == asio::error::try_again ||
          peek_ec == asio::error::interrupted) {
        self->watch_client();
        return;
      }
      self->client_gone();
    });
  }

  void client_gone() {
    spdlog::debug("http {} {}: {} went away before the answer", method_, target_, remote_);
    keep_alive_ = false;
    // The handlers drop their state now; a late answer meets a closed socket.
    if (cancel_) cancel_->cancel();
    close();
    // Its descriptor is closed: it no longer counts against max_connections,
    // even while a handler that ignores the signal still holds the session.
    state_->sessions.erase(this);
  }

  void reply_and_close(HttpResponse r) {
    keep_alive_ = false;
    linger_ = true;  // what the client sent after the fault stays unread
    version_ = 11;
    method_ = "-";
    target_ = "-";
    write_response(std::move(r));
  }

  void write_response(HttpResponse r) {
    handling_work_.reset();
    if (cancel_) {
      cancel_->clear();
      cancel_.reset();
    }
    if (phase_ == Phase::kHandling) {
      ++request_seq_;
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // watch_client()'s wait
    }
    if (state_->stopping) keep_alive_ = false;
    response_ = {};
    response_.result(r.status);
    response_.version(version_);
    response_.set(http::field::server, "shoal/" + std::string(version()));
    response_.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = std::move(r.body);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    spdlog::debug("http {} {} {} from {}", method_, target_, r.status, remote_);

    phase_ = Phase::kWriting;
    stream_.expires_after(state_->stopping ? state_->options.shutdown_grace
                                           : state_->options.write_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t /*bytes*/) {
    if (!ec && linger_ && !state_->stopping) return linger_close();
    if (ec || !keep_alive_ || state_->stopping) {
      close();
      return;
    }
    read_request();
  }

  // Closing a socket with unread bytes sends a reset, and a reset can destroy
  // the answer before the client has read it (a 403 or 413 sent before the
  // body). So: stop sending, read and discard what the client still sends,
  // at most kLingerBytes for at most kLingerTime, then close.
  void linger_close() {
    phase_ = Phase::kWriting;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drain_.resize(16 << 10);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ >= kLingerBytes)
                                return self->stream_.close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::State> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  size_t body_limit_ = 0;                       // of the request being read
  http::response<http::string_body> response_;  // alive until its write completes
  std::optional<asio::executor_work_guard<beast::tcp_stream::executor_type>> handling_work_;
  std::shared_ptr<HttpCancelSignal> cancel_;  // of the request being handled
  uint64_t request_seq_ = 0;                  // tells a stale watch_client() wait apart
  Phase phase_ = Phase::kReading;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool linger_ = false;      // answered before reading the whole request
  std::vector<char> drain_;  // linger_close()'s discard buffer
  size_t drained_ = 0;
  std::string remote_;
  std::string method_;
  std::string target_;
};

void accept_next(const std::shared_ptr<HttpServer::State>& state);

void on_accept(const std::shared_ptr<HttpServer::State>& state, beast::error_code ec,
               tcp::socket socket) {
  if (state->stopping || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Usually out of file descriptors; try again shortly rather than spin.
    state->accept_backoff.failed(ec, [state] { accept_next(state); });
    return;
  }
  state->accept_backoff.succeeded();
  if (state->sessions.size() >= state->options.max_connections) {
    // Once per burst in the log; every refusal in the metrics.
    if (state->refused++ % 1000 == 0) {
      spdlog::warn("http: {} connections open (the cap), refusing another ({} refused so far)",
                   state->sessions.size(), state->refused);
    }
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    // Answers are single writes; never hold one back waiting for an ACK.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), state)->start();
  }
  accept_next(state);
}

void accept_next(const std::shared_ptr<HttpServer::State>& state) {
  if (state->stopping) return;
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    on_accept(state, ec, std::move(socket));
  });
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, std::shared_ptr<const Router> router,
                       HttpServerOptions options)
    : state_(std::make_shared<State>(io, std::move(router), options)) {}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::error("http: stopping the server failed: {}", e.what());
  }
}

Status HttpServer::listen(const tcp::endpoint& endpoint) {
  auto fail = [&](std::string_view what, const beast::error_code& ec) {
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    return Status::io_error("cannot " + std::string(what) + " " + endpoint_text(endpoint) + ": " +
                            ec.message());
  };
  beast::error_code ec;
  state_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for", ec);
  state_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on", ec);
  state_->acceptor.bind(endpoint, ec);
  if (ec) return fail("listen on", ec);
  state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on", ec);
  accept_next(state_);
  return Status::ok();
}

tcp::endpoint HttpServer::local_endpoint() const {
  beast::error_code ec;
  auto ep = state_->acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint() : ep;
}

void HttpServer::stop() {
  if (state_->stopping) return;
  state_->stopping = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  state_->accept_backoff.cancel();
  // shutdown() may close a session, but its destructor runs later, from the
  // io_context, so iterating over a copy is safe either way.
  const std::vector<Session*> sessions(state_->sessions.begin(), state_->sessions.end());
  for (Session* s : sessions) s->shutdown();
}

size_t HttpServer::connection_count() const { return state_->sessions.size(); }

size_t HttpServer::max_connections() const { return state_->options.max_connections; }

uint64_t HttpServer::connections_refused() const { return state_->refused; }

size_t http_connection_cap(size_t configured, uint64_t fd_soft_limit) {
  const uint64_t share = std::max<uint64_t>(kMinHttpConnections, fd_soft_limit / 4);
  return static_cast<size_t>(std::min<uint64_t>(configured, share));
}

size_t http_connection_cap(size_t configured) {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return configured;
  }
  return http_connection_cap(configured, static_cast<uint64_t>(limit.rlim_cur));
}

}  // namespace shoal::node
