#include "node/agent.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/crypto.h"
#include "node/cluster/agent_cluster.h"
#include "node/config/agent_flags.h"
#include "node/host/data_dir.h"
#include "node/host/node_identity.h"
#include "node/host/test_faults.h"
#include "node/host/version.h"
#include "node/http/http_server.h"
#include "node/http/metrics_text.h"
#include "node/membership/agent_gossip.h"
#include "node/net/fd_limit.h"

namespace shoal::node {

namespace asio = boost::asio;

namespace {

// Removes the --dev data dir when the agent is done with it, however run() ends.
class EphemeralDir {
 public:
  EphemeralDir() = default;
  EphemeralDir(const EphemeralDir&) = delete;
  EphemeralDir& operator=(const EphemeralDir&) = delete;
  ~EphemeralDir() {
    if (path_.empty()) return;
    if (Status st = remove_data_dir(path_); !st.is_ok()) {
      spdlog::error("{}", st.message());
    } else {
      spdlog::info("removed the dev data dir {}", path_.string());
    }
  }
  void set(std::filesystem::path p) { path_ = std::move(p); }

 private:
  std::filesystem::path path_;
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

// Once a shutdown has begun, a second SIGINT or SIGTERM means "now": the
// operator has given up on the clean path (a hung disk, a stuck peer).
// signals_during_shutdown counts the signals the shutdown already owes to
// one (1 when a signal started it, 0 when POST /v1/agent/leave or stop()
// did, so that the first signal then is merely noted).
// Async-signal-safe: write(2) and _exit(2) only.
std::atomic<int> signals_during_shutdown{0};

extern "C" void exit_at_once(int sig) {
  if (signals_during_shutdown.fetch_add(1) == 0) {
    static constexpr char kNoted[] =
        "shoal agent: already shutting down; a second signal exits at once\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kNoted, sizeof kNoted - 1);
    return;
  }
  static constexpr char kMessage[] = "shoal agent: second signal during shutdown, exiting now\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(128 + sig);
}

}  // namespace

struct Agent::Impl {
  Impl(AgentConfig c, ConfigLoader r) : config(std::move(c)), reload(std::move(r)) {}

  Status start(std::filesystem::path& data_dir, EphemeralDir& ephemeral,
               std::optional<DataDirLock>& lock);
  void add_routes(Router& router);
  HttpResponse get_health() const;
  HttpResponse get_self() const;
  void wait_for_signal();
  void wait_for_hangup();
  void reload_config();
  // Warns when HTTP listens beyond loopback without an API token.
  void warn_if_api_open() const;
  void shutdown();

  AgentConfig config;
  ConfigLoader reload;
  asio::io_context io{1};
  std::optional<asio::signal_set> signals;    // SIGINT, SIGTERM
  std::optional<asio::signal_set> hangup;     // SIGHUP
  std::optional<asio::signal_set> power_cut;  // SIGUSR2, test fault power-cut only
  std::shared_ptr<Router> router;
  std::unique_ptr<HttpServer> http;
  AgentGossip gossip;
  std::unique_ptr<AgentCluster> cluster;
  NodeIdentity identity;
  std::atomic<bool> serving{false};
  bool stopping = false;
  bool ran = false;
};

Agent::Agent(AgentConfig config, ConfigLoader reload)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(reload))) {}

Agent::~Agent() = default;

void Agent::stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->shutdown(); });
}

Status Agent::run() {
  SHOAL_CHECK_MSG(!impl_->ran, "Agent::run() may be called only once");
  impl_->ran = true;
  // Declared in this order so that the lock is released before the dev data
  // dir is removed.
  EphemeralDir ephemeral;
  std::optional<DataDirLock> lock;
  std::filesystem::path data_dir;
  if (Status st = impl_->start(data_dir, ephemeral, lock); !st.is_ok()) {
    // Stop what did start while the data dir is still there: gossip, for
    // one, saves its member list into it when it stops.
    impl_->shutdown();
    return st;
  }

  const auto& cfg = impl_->config;
  impl_->serving = true;
  spdlog::info(
      "shoal agent {} serving: name={} id={} http={} gossip={} bind={} data_dir={} boot_epoch={}",
      version(), cfg.name, impl_->identity.id.to_string(),
      format_host_port(cfg.http_bind, cfg.http_port), format_host_port(cfg.bind, cfg.gossip_port),
      cfg.bind, data_dir.string(), impl_->identity.boot_epoch);
  try {
    impl_->io.run();
  } catch (const std::exception& e) {
    impl_->serving = false;
    return Status::internal(std::string("event loop failed: ") + e.what());
  }
  impl_->serving = false;
  spdlog::info("shoal agent stopped");
  return Status::ok();
}

Status Agent::Impl::start(std::filesystem::path& data_dir, EphemeralDir& ephemeral,
                          std::optional<DataDirLock>& lock) {
  crypto::init();
  // Writing logs to a closed pipe must not kill the agent.
  std::signal(SIGPIPE, SIG_IGN);
  // Before anything is created: an agent without a key is refused.
  SHOAL_RETURN_IF_ERROR(check_has_cluster_key(config, config.data_dir));
  const char* faults = std::getenv("SHOAL_TEST_FAULTS");
  auto test_faults = parse_test_faults(faults ? faults : "");
  if (!test_faults.is_ok()) return test_faults.status();
  config.test_faults = *test_faults;
  if (config.test_faults.any()) {
    spdlog::warn("TEST FAULTS ON: {}; this agent breaks its guarantees on purpose (tests only)",
                 config.test_faults.describe());
  }
  // Connections and RocksDB files all need descriptors; 1024 is too few.
  (void)raise_fd_limit();

  if (config.ephemeral_data_dir) {
    auto dir = make_temp_data_dir();
    if (!dir.is_ok()) return dir.status();
    data_dir = *dir;
    ephemeral.set(data_dir);
    spdlog::warn(
        "DEV MODE: single node, INSECURE (traffic unauthenticated, no API token) and "
        "EPHEMERAL (data dir {} is deleted at exit); never use --dev in production",
        data_dir.string());
  } else {
    data_dir = config.data_dir;
    SHOAL_RETURN_IF_ERROR(create_data_dir(data_dir));
    if (config.dev) {
      spdlog::warn(
          "DEV MODE: single node, INSECURE (traffic unauthenticated, no API token); "
          "data dir {} is kept; never use --dev in production",
          data_dir.string());
    }
  }

  auto acquired = DataDirLock::acquire(data_dir);
  if (!acquired.is_ok()) return acquired.status();
  lock.emplace(std::move(acquired).value());

  auto id = load_identity(data_dir);
  if (!id.is_ok()) return id.status();
  identity = *id;
  if (identity.created) {
    spdlog::info("created node id {} in {}", identity.id.to_string(), data_dir.string());
  }

  // Signals first: once the API answers, SIGTERM must mean a clean shutdown.
  signals.emplace(io, SIGINT, SIGTERM);
  wait_for_signal();
  hangup.emplace(io, SIGHUP);
  wait_for_hangup();
  if (config.test_faults.power_cut) {
    power_cut.emplace(io, SIGUSR2);
    power_cut->async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec && cluster) cluster->power_cut_and_exit();
    });
  }

  SHOAL_RETURN_IF_ERROR(gossip.start(io, config, identity, data_dir));
  cluster = std::make_unique<AgentCluster>(io, config, identity, data_dir, gossip);
  SHOAL_RETURN_IF_ERROR(cluster->start());

  router = std::make_shared<Router>();
  add_routes(*router);
  // After POST /v1/agent/leave has answered, the agent stops.
  gossip.add_routes(
      *router, [this] { asio::post(io, [this] { shutdown(); }); },
      [this](MetricsText& m) {
        cluster->write_metrics(m);
        if (http) {
          m.gauge("shoal_http_connections", "Open HTTP connections",
                  static_cast<double>(http->connection_count()));
          m.gauge("shoal_http_connections_max",
                  "The HTTP connection cap (a quarter of the file descriptor limit at most)",
                  static_cast<double>(http->max_connections()));
          m.counter("shoal_http_connections_refused_total",
                    "HTTP connections closed at once because the cap was reached",
                    static_cast<double>(http->connections_refused()));
        }
      });
  cluster->add_routes(router);
  boost::system::error_code ec;
  const auto http_address = asio::ip::make_address(config.http_bind, ec);
  if (ec) return Status::invalid_argument("--http-bind: " + ec.message());
  router->require_token(config.api_token, {"/v1/agent/health"});
  warn_if_api_open();
  // The cap follows the descriptors this agent may open (after start raised
  // RLIMIT_NOFILE as far as it could).
  HttpServerOptions http_options;
  http_options.max_connections = http_connection_cap(http_options.max_connections);
  spdlog::debug("http: at most {} connections", http_options.max_connections);
  http = std::make_unique<HttpServer>(io, router, http_options);
  return http->listen({http_address, static_cast<uint16_t>(config.http_port)});
}

void Agent::Impl::add_routes(Router& router) {
  router.add(HttpMethod::get, "/v1/agent/health",
             [this](const HttpRequest&) { return get_health(); });
  router.add(HttpMethod::get, "/v1/agent/self", [this](const HttpRequest&) { return get_self(); });
}

// 200 once the agent serves; 503 while it starts or stops (load balancers and
// the test harness wait on it).
HttpResponse Agent::Impl::get_health() const {
  if (!serving) {
    return HttpResponse::error(503, stopping ? "agent is shutting down" : "agent is starting");
  }
  return HttpResponse::json(200, {{"status", "ok"}});
}

// This agent: name, id, addresses and version, then what gossip and the
// cluster side add.
HttpResponse Agent::Impl::get_self() const {
  nlohmann::json self = {
      {"name", config.name},
      {"id", identity.id.to_string()},
      {"addresses",
       {{"bind", config.bind}, {"http", format_host_port(config.http_bind, config.http_port)}}},
      {"version", std::string(version())},
  };
  gossip.add_self(self);
  if (cluster) cluster->add_self(self);
  return HttpResponse::json(200, self);
}

void Agent::Impl::wait_for_signal() {
  signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;  // cancelled by shutdown()
    spdlog::info("received {}, shutting down", signal_name(sig));
    signals_during_shutdown = 1;
    shutdown();
  });
}

void Agent::Impl::warn_if_api_open() const {
  boost::system::error_code ec;
  const auto http_address = asio::ip::make_address(config.http_bind, ec);
  if (!config.api_token.empty() || ec || http_address.is_loopback()) return;
  spdlog::warn(
      "SECURITY: the HTTP API listens on {} without --api-token: anyone who can reach it can "
      "read and change the cluster's state",
      format_host_port(config.http_bind, config.http_port));
}

void Agent::Impl::wait_for_hangup() {
  hangup->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;  // cancelled by shutdown()
    reload_config();
    wait_for_hangup();
  });
}

void Agent::Impl::reload_config() {
  if (!reload) {
    spdlog::info("received SIGHUP; there is no configuration to reload");
    return;
  }
  spdlog::info("received SIGHUP, loading the configuration again{}",
               config.config_file.empty() ? "" : " (" + config.config_file + ")");
  auto next = reload();
  if (!next.is_ok()) {
    spdlog::error("configuration reload failed, nothing changed: {}", next.status().message());
    return;
  }
  for (const auto& w : next->warnings) spdlog::warn("SECURITY: {}", w);
  std::vector<std::string> changed_live;
  std::vector<std::string> restart_needed;
  for (const AgentFlag& flag : agent_flags()) {
    if (flag_value_text(config, flag) == flag_value_text(*next, flag)) continue;
    if (flag.live) {
      changed_live.emplace_back(flag.name);
    } else {
      restart_needed.emplace_back(flag.name);
    }
  }
  if (next->log_level != config.log_level) {
    spdlog::set_level(spdlog::level::from_str(next->log_level));
    config.log_level = next->log_level;
  }
  if (next->api_token != config.api_token) {
    router->require_token(next->api_token, {"/v1/agent/health"});
    config.api_token = next->api_token;
    spdlog::info("the API token {}", config.api_token.empty() ? "was removed" : "changed");
    warn_if_api_open();
  }
  config.api_token_file = next->api_token_file;
  auto names = [](const std::vector<std::string>& list) {
    std::string out;
    for (const auto& n : list) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (changed_live.empty() && restart_needed.empty()) {
    spdlog::info("configuration reloaded: nothing changed");
  } else if (!changed_live.empty()) {
    spdlog::info("configuration reloaded: applied {}", names(changed_live));
  }
  if (!restart_needed.empty()) {
    spdlog::warn(
        "configuration changed for {}: restart needed (the running agent keeps the values it "
        "started with)",
        names(restart_needed));
  }
}

void Agent::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  serving = false;
  // Nothing else may keep io.run() going: once the HTTP server has written
  // the responses in flight (bounded by its shutdown grace), run() returns.
  // From here on a second SIGINT or SIGTERM exits at once, and SIGHUP
  // (whose default would kill us) is ignored.
  // cancel() ends the pending waits (else io.run() never returns); clear()
  // gives the signals back, so that the handlers below take them.
  for (auto* set : {&signals, &hangup}) {
    if (!*set) continue;
    boost::system::error_code ignored;
    (*set)->cancel(ignored);
    (*set)->clear(ignored);
  }
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGINT, exit_at_once);
  std::signal(SIGTERM, exit_at_once);
  if (http) http->stop();
  if (cluster) cluster->stop();
  gossip.stop();
}

}  // namespace shoal::node
