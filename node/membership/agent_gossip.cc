#include "node/membership/agent_gossip.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <variant>

#include "core/crypto.h"
#include "node/host/host_facts.h"
#include "node/host/keyring_file.h"
#include "node/host/version.h"
#include "node/http/blocking_queries.h"
#include "node/http/blocking_query.h"
#include "node/http/keyring_http.h"
#include "node/http/members_http.h"
#include "node/membership/gossip_host.h"
#include "node/membership/gossip_metrics.h"
#include "node/membership/keyring_service.h"
#include "node/net/gossip_channel.h"

namespace shoal::node {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

struct ChosenKeyring {
  std::optional<crypto::Keyring> keyring;  // nullopt: insecure
  bool persist_now = false;                // seeded from a flag: write it to the data dir
};

Result<ChosenKeyring> choose_keyring(const AgentConfig& config,
                                     const std::filesystem::path& keyring_path) {
  auto persisted = load_keyring(keyring_path);
  if (!persisted.is_ok()) {
    return Status(persisted.status().code(),
                  persisted.status().message() +
                      "; restore it from a backup, or delete it to take the key from --encrypt");
  }
  ChosenKeyring out;
  if (persisted->has_value()) {
    const crypto::Keyring& ring = **persisted;
    if (!config.encrypt.empty()) {
      auto key = crypto::ClusterKey::from_base64(config.encrypt);
      if (key.is_ok() && ring.find(key->id()) == nullptr) {
        spdlog::warn(
            "--encrypt key {} is not in the persisted keyring {}, which wins; install it with "
            "`shoal keyring install`, or delete the file to start over from --encrypt",
            key_id_hex(key->id()), keyring_path.string());
      }
    } else if (!config.keyring_file.empty()) {
      spdlog::info("using the persisted keyring {}; --keyring-file only seeds a new data dir",
                   keyring_path.string());
    } else if (config.insecure) {
      spdlog::warn("--insecure ignored: the data dir has a keyring ({})", keyring_path.string());
    }
    out.keyring = std::move(**persisted);
    return out;
  }
  if (!config.encrypt.empty()) {
    auto key = crypto::ClusterKey::from_base64(config.encrypt);
    if (!key.is_ok()) return Status::invalid_argument("--encrypt: " + key.status().message());
    out.keyring.emplace(*key);
    out.persist_now = true;
    return out;
  }
  if (!config.keyring_file.empty()) {
    auto from_file = load_keyring(config.keyring_file);
    if (!from_file.is_ok()) {
      return Status::invalid_argument("--keyring-file: " + from_file.status().message());
    }
    if (!from_file->has_value()) {
      return Status::invalid_argument("--keyring-file: " + config.keyring_file + " does not exist");
    }
    out.keyring = std::move(**from_file);
    out.persist_now = true;
    return out;
  }
  if (!config.insecure) {
    return Status::invalid_argument(
        "no cluster key: give --encrypt KEY (make one with `shoal keygen`) or --keyring-file "
        "FILE, or --insecure to run without authentication");
  }
  return out;
}

}  // namespace

Status check_has_cluster_key(const AgentConfig& config, const std::filesystem::path& data_dir) {
  if (!config.encrypt.empty() || !config.keyring_file.empty() || config.insecure) {
    return Status::ok();
  }
  std::error_code ec;
  if (!config.ephemeral_data_dir && std::filesystem::exists(data_dir / kKeyringFile, ec)) {
    return Status::ok();
  }
  return Status::invalid_argument(
      "no cluster key: give --encrypt KEY (make one with `shoal keygen`) or --keyring-file "
      "FILE, or --insecure to run without authentication");
}

struct AgentGossip::Parts {
  AgentConfig config;
  // Blocking queries on GET /v1/members, woken when the view counter moves.
  std::unique_ptr<BlockingQueries> member_waiters;
  std::filesystem::path keyring_path;
  std::unique_ptr<GossipChannel> channel;
  std::unique_ptr<GossipHost> host;
  std::unique_ptr<KeyringService> keyring;
  gossip::NodeMeta meta;
};

AgentGossip::AgentGossip() : parts_(std::make_unique<Parts>()) {}
AgentGossip::~AgentGossip() = default;

Status AgentGossip::start(asio::io_context& io, const AgentConfig& config,
                          const NodeIdentity& identity, const std::filesystem::path& data_dir) {
  Parts& p = *parts_;
  p.config = config;
  p.keyring_path = data_dir / kKeyringFile;

  auto chosen = choose_keyring(config, p.keyring_path);
  if (!chosen.is_ok()) return chosen.status();
  const bool insecure = !chosen->keyring.has_value();
  if (chosen->persist_now) {
    SHOAL_RETURN_IF_ERROR(save_keyring(p.keyring_path, *chosen->keyring));
  }
  if (insecure) {
    spdlog::warn(
        "INSECURE: gossip and RPC traffic is neither authenticated nor encrypted (--insecure). "
        "They listen on {} only, but every local user and every task on this host can still "
        "reach them, join this cluster, and read or change its state past --api-token",
        config.bind);
  } else {
    spdlog::info("keyring: {} key(s), primary {}", chosen->keyring->keys().size(),
                 key_id_hex(chosen->keyring->primary().id()));
  }
  p.channel = std::make_unique<GossipChannel>(
      insecure ? crypto::Keyring(GossipChannel::insecure_key()) : std::move(*chosen->keyring),
      insecure, config.cluster_label, identity.id, identity.boot_epoch);

  auto profile = gossip::Config::profile(config.gossip_profile);
  if (!profile.is_ok())
    return Status::invalid_argument("--gossip-profile: " + profile.status().message());

  const HostFacts facts = detect_host_facts();
  p.meta.name = config.name;
  p.meta.gossip = gossip::Address{config.advertise, static_cast<uint16_t>(config.gossip_port)};
  p.meta.http_port = static_cast<uint16_t>(config.http_port);
  p.meta.rpc_port = static_cast<uint16_t>(config.rpc_port);
  p.meta.attrs = facts.attrs;
  for (const auto& [k, v] : config.attr_map) p.meta.attrs[k] = v;
  p.meta.resources.cpu_mhz = config.cpu_mhz.value_or(facts.cpu_mhz);
  p.meta.resources.memory_mb = config.memory_mb.value_or(facts.memory_mb);
  if (Status st = gossip::Gossip::check_meta(p.meta); !st.is_ok()) {
    return Status::invalid_argument("node metadata (--name, --attr) is too large for gossip: " +
                                    st.message());
  }

  std::vector<gossip::Address> seeds;
  for (const auto& hp : config.join_addrs) {
    auto ip = resolve_ip(hp.host);
    if (!ip.is_ok()) return Status::invalid_argument("--join: " + ip.status().message());
    seeds.push_back(gossip::Address{*ip, hp.port});
  }

  GossipHostOptions options;
  options.config = *profile;
  options.self = identity.id;
  options.meta = p.meta;
  options.members_path = data_dir / kMembersFile;
  options.transport.bind = asio::ip::make_address(config.bind);
  options.transport.port = static_cast<uint16_t>(config.gossip_port);
  uint64_t seed = 0;
  crypto::random_bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
  options.rng_seed = seed;
  p.host = std::make_unique<GossipHost>(io, *p.channel, std::move(options));
  p.host->set_profile_name(config.gossip_profile);
  p.keyring = std::make_unique<KeyringService>(*p.host, *p.channel,
                                               insecure ? std::filesystem::path() : p.keyring_path);
  p.keyring->attach();
  p.member_waiters =
      std::make_unique<BlockingQueries>(io, static_cast<size_t>(config.http_max_blocking_queries));
  p.host->on_view_change([&p](uint64_t index) { p.member_waiters->wake(index); });
  SHOAL_RETURN_IF_ERROR(p.host->start(seeds));
  spdlog::info(
      "gossip: listening on {} (UDP+TCP), advertising {}, profile {}{}",
      format_host_port(config.bind, config.gossip_port), p.meta.gossip.to_string(),
      config.gossip_profile,
      seeds.empty() ? "" : ", joining " + config.join.front() + (seeds.size() > 1 ? " ..." : ""));
  return Status::ok();
}

void AgentGossip::stop() {
  if (parts_->member_waiters) parts_->member_waiters->wake_all();
  if (parts_->host) parts_->host->stop();
}

const gossip::Gossip& AgentGossip::core() const { return parts_->host->core(); }

const gossip::NodeMeta& AgentGossip::meta() const { return parts_->meta; }

void AgentGossip::update_meta(const std::function<void(gossip::NodeMeta&)>& change) {
  Parts& p = *parts_;
  gossip::NodeMeta next = p.meta;
  change(next);
  if (next == p.meta || !p.host) return;
  if (Status st = gossip::Gossip::check_meta(next); !st.is_ok()) {
    spdlog::error("gossip: metadata update refused: {}", st.message());
    return;
  }
  p.meta = next;
  p.host->update_meta(std::move(next));
}

const crypto::Keyring& AgentGossip::keyring() const { return parts_->channel->keyring(); }

void AgentGossip::on_keyring_change(std::function<void(const crypto::Keyring&)> on_change) {
  if (parts_->keyring) parts_->keyring->set_on_change(std::move(on_change));
}

void AgentGossip::add_self(json& self) const {
  const Parts& p = *parts_;
  if (!p.host) return;
  self["addresses"]["advertise"] = p.config.advertise;
  self["addresses"]["gossip"] = p.meta.gossip.to_string();
  json attrs = json::object();
  for (const auto& [k, v] : p.meta.attrs) attrs[k] = v;
  self["attrs"] = attrs;
  self["resources"] = {{"cpu_mhz", p.meta.resources.cpu_mhz},
                       {"memory_mb", p.meta.resources.memory_mb}};
  const auto& core = p.host->core();
  self["gossip"] = {
      {"profile", p.host->profile_name()},
      {"encrypted", !p.channel->insecure()},
      {"cluster_label", p.config.cluster_label},
      {"status", gossip::status_name(core.self().status)},
      {"incarnation", core.self().incarnation},
      {"health_score", core.health_score()},
      {"members_alive", core.alive_count()},
  };
}

// ---- the endpoints, one named handler each ----

namespace {

using Parts = AgentGossip::Parts;

// GET /v1/members: blocks on the local view counter (GossipHost::view_index).
void get_members(Parts& p, const HttpRequest& req, HttpRespond respond) {
  serve_indexed(
      req, *p.member_waiters, [&p] { return p.host->view_index(); },
      [&p] { return render_members(p.host->core().members()); }, std::move(respond));
}

void post_join(Parts& p, const HttpRequest& req, const HttpRespond& respond) {
  auto parsed = parse_join_body(req.body, static_cast<uint16_t>(p.config.gossip_port));
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*bad));
    return;
  }
  if (p.host->leaving()) {
    respond(HttpResponse::error(409, "the agent is leaving the cluster"));
    return;
  }
  p.host->join(std::get<0>(parsed), [respond](JoinOutcome out) {
    if (out.http_status == 200) {
      respond(HttpResponse::json(200, {{"joined", out.joined}}));
    } else {
      respond(
          HttpResponse::error(out.http_status, out.error, out.http_status == 400 ? "addrs" : ""));
    }
  });
}

void post_leave(Parts& p, const HttpRespond& respond, const std::function<void()>& shutdown) {
  p.host->leave([respond, shutdown] {
    respond(HttpResponse::json(200, {{"left", true}}));
    shutdown();
  });
}

// GET /v1/keyring: a cluster-wide query, not a view of local state, so it
// does not block (see node/http/blocking_query.h).
void get_keyring(Parts& p, const HttpRequest& req, const HttpRespond& respond) {
  const bool local = req.query_value("local").has_value();
  p.keyring->list(
      local, [respond](unsigned status, json body) { respond(HttpResponse::json(status, body)); });
}

void post_keyring(Parts& p, const HttpRequest& req, const HttpRespond& respond) {
  auto parsed = parse_keyring_post(req.body);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*bad));
    return;
  }
  const KeyringRequest& request = std::get<KeyringRequest>(parsed);
  if (p.channel->insecure()) {
    respond(HttpResponse::error(409, "the agent runs with --insecure and has no keyring"));
    return;
  }
  const auto& ring = p.channel->keyring();
  if (request.op == KeyringOp::kUse && ring.find(request.key_id) == nullptr) {
    respond(HttpResponse::error(
        400, "key " + key_id_hex(request.key_id) + " is not installed; install it first",
        "key_id"));
    return;
  }
  if (request.op == KeyringOp::kRemove && ring.primary().id() == request.key_id) {
    respond(
        HttpResponse::error(400, "cannot remove the primary key; use another key first", "key_id"));
    return;
  }
  p.keyring->apply(request, [respond](unsigned status, json body) {
    respond(HttpResponse::json(status, body));
  });
}

HttpResponse get_metrics(Parts& p, const std::function<void(MetricsText&)>& more_metrics) {
  MetricsText m;
  m.family("shoal_build_info", "gauge", "The running Shoal version");
  m.sample("shoal_build_info", {{"version", std::string(version())}}, 1);
  write_gossip_metrics(m, *p.host, *p.channel);
  if (more_metrics) more_metrics(m);
  HttpResponse r;
  r.content_type = std::string(kMetricsContentType);
  r.body = m.text();
  return r;
}

}  // namespace

void AgentGossip::add_routes(Router& router, std::function<void()> shutdown,
                             std::function<void(MetricsText&)> more_metrics) {
  Parts* p = parts_.get();
  router.add_async(HttpMethod::get, "/v1/members",
                   [p](const HttpRequest& req, HttpRespond respond) {
                     get_members(*p, req, std::move(respond));
                   });
  router.add_async(
      HttpMethod::post, "/v1/agent/join",
      [p](const HttpRequest& req, HttpRespond respond) { post_join(*p, req, respond); });
  router.add_async(HttpMethod::post, "/v1/agent/leave",
                   [p, shutdown](const HttpRequest&, HttpRespond respond) {
                     post_leave(*p, respond, shutdown);
                   });
  router.add_async(
      HttpMethod::get, "/v1/keyring",
      [p](const HttpRequest& req, HttpRespond respond) { get_keyring(*p, req, respond); });
  router.add_async(
      HttpMethod::post, "/v1/keyring",
      [p](const HttpRequest& req, HttpRespond respond) { post_keyring(*p, req, respond); });
  router.add(HttpMethod::get, "/v1/metrics",
             [p, more_metrics](const HttpRequest&) { return get_metrics(*p, more_metrics); });
}

uint64_t AgentGossip::view_index() const { return parts_->host ? parts_->host->view_index() : 0; }

const BlockingQueries* AgentGossip::member_waiters() const { return parts_->member_waiters.get(); }

void AgentGossip::on_view_change(std::function<void(uint64_t)> f) {
  if (parts_->host) parts_->host->on_view_change(std::move(f));
}

}  // namespace shoal::node
