// AgentCluster: lifecycle, formation, the address book, role tracking,
// autopilot and the node registry. See agent_cluster.h for the whole.
#include "node/cluster/agent_cluster.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "node/cluster/agent_cluster_impl.h"
#include "node/cluster/autopilot_loop.h"
#include "node/cluster/cluster_bootstrap.h"
#include "node/cluster/registry_writer.h"
#include "node/cluster/upgrade_gate.h"
#include "node/consensus/raft_recover.h"
#include "node/host/atomic_file.h"
#include "node/host/test_faults.h"
#include "node/http/metrics_text.h"
#include "raft/fault_fs.h"
#include "scheduler/node_registry.h"

namespace shoal::node {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kTickEvery = 200ms;
constexpr auto kUpsertsEvery = 2s;
constexpr size_t kMaxUpsertsInflight = 16;
constexpr size_t kMaxClusterIdBytes = 64;

bool dir_has_entries(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) return false;
  return std::filesystem::directory_iterator(p, ec) != std::filesystem::directory_iterator();
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The state schema this agent advertises and answers for itself: its own,
// or one less under the test fault old-state-schema (an older build).
uint32_t own_state_schema(const AgentConfig& config) {
  return config.test_faults.old_state_schema ? scheduler::kStateSchema - 1
                                             : scheduler::kStateSchema;
}

}  // namespace

const char* role_name(ClusterRole r) {
  switch (r) {
    case ClusterRole::kNone:
      return "none";
    case ClusterRole::kObserver:
      return "observer";
    case ClusterRole::kLearner:
      return "learner";
    case ClusterRole::kVoter:
      return "voter";
  }
  return "none";
}

AgentCluster::Impl::Impl(asio::io_context& io_, const AgentConfig& config_,
                         const NodeIdentity& identity_, std::filesystem::path data_dir_,
                         AgentGossip& gossip_)
    : io(io_),
      config(config_),
      identity(identity_),
      data_dir(std::move(data_dir_)),
      gossip(gossip_),
      rpc_io(std::make_unique<asio::io_context>(1)),
      held_follow_timer(io_),
      waiters(io_, static_cast<size_t>(config_.http_max_blocking_queries)),
      peers_waiters(io_, static_cast<size_t>(config_.http_max_blocking_queries)),
      forward_timer(io_),
      tick_timer(io_) {}

AgentCluster::AgentCluster(asio::io_context& io, const AgentConfig& config,
                           const NodeIdentity& identity, std::filesystem::path data_dir,
                           AgentGossip& gossip)
    : impl_(std::make_unique<Impl>(io, config, identity, std::move(data_dir), gossip)) {}

AgentCluster::~AgentCluster() { stop(); }

Status AgentCluster::start() { return impl_->start(); }
void AgentCluster::stop() { impl_->stop(); }

void AgentCluster::power_cut_and_exit() {
  if (!impl_->config.test_faults.power_cut) return;
  if (impl_->fault_fs) node::power_cut_and_exit(*impl_->fault_fs);
  // No Raft log here (an observer): nothing unsynced to drop.
  std::fprintf(stderr, "shoal: test fault: power cut (no Raft log)\n");
  std::fflush(stderr);
  ::_exit(kPowerCutExitCode);
}
void AgentCluster::add_routes(const std::shared_ptr<Router>& router) { impl_->add_routes(router); }

Status AgentCluster::Impl::start() {
  auto stored = read_small_file(data_dir / kClusterIdFile, kMaxClusterIdBytes + 1);
  if (!stored.is_ok()) return stored.status();
  if (stored->has_value()) {
    cluster_id = **stored;
    while (!cluster_id.empty() && (cluster_id.back() == '\n' || cluster_id.back() == ' ')) {
      cluster_id.pop_back();
    }
    if (cluster_id.size() > kMaxClusterIdBytes) {
      return Status::invalid_argument((data_dir / kClusterIdFile).string() + ": not a cluster id");
    }
  }

  boost::system::error_code ec;
  const auto bind = asio::ip::make_address(config.bind, ec);
  if (ec) return Status::invalid_argument("--bind: " + ec.message());

  RpcOptions client_options;
  if (!bind.is_unspecified()) client_options.bind = bind;
  client_options.reconnect_backoff_max = 2s;
  // Both callbacks run on the cluster thread; what they touch lives on ours.
  client = std::make_unique<RpcClient>(
      *rpc_io, gossip.keyring(), identity.id, config.cluster_label, client_options,
      [this](const NodeId& peer, std::vector<uint8_t> frame, RpcReply) {
        asio::post(io, [this, peer, frame = std::move(frame)]() mutable {
          on_client_frame(peer, std::move(frame));
        });
      },
      [this](const tcp::endpoint& peer, const Status& why, size_t dropped, bool was_open) {
        spdlog::debug("rpc: connection to {}:{} failed ({} frames lost): {}",
                      peer.address().to_string(), peer.port(), dropped, why.message());
        asio::post(io, [this, peer, was_open] { on_client_failure(peer, was_open); });
      });
  transport = std::make_unique<RaftRpcTransport>(*rpc_io, *client);

  RpcOptions server_options;
  server_options.bind = bind;
  server_options.port = static_cast<uint16_t>(config.rpc_port);
  // The side that dials closes an idle channel first: a server closing at
  // the same moment could drop a frame the client was just sending.
  server_options.idle_timeout = 2 * client_options.idle_timeout;
  server = std::make_unique<RpcServer>(
      *rpc_io, gossip.keyring(), identity.id, config.cluster_label, server_options,
      [this](const NodeId& peer, std::vector<uint8_t> frame, RpcReply reply) {
        on_server_frame(peer, std::move(frame), std::move(reply));
      });
  SHOAL_RETURN_IF_ERROR(server->listen());
  rpc_work.emplace(rpc_io->get_executor());
  rpc_thread = std::thread([this] { rpc_io->run(); });
  // Keyring changes reach RPC at once: later handshakes use the new keyring,
  // and channels opened under a removed key (maybe a stolen one) close.
  gossip.on_keyring_change([this](const crypto::Keyring& keyring) {
    asio::post(*rpc_io, [this, keyring] {
      server->set_keyring(keyring);
      client->set_keyring(keyring);
    });
  });

  // A gossip change may change /v1/raft/peers (refresh_peers reads gossip).
  gossip.on_view_change([this](uint64_t) {
    if (stopped) return;
    refresh_peers();
    note_peers_view();
  });

  machine.set_on_applied([this] {
    // Coalesced: one wake-up pass on the agent thread per burst of applies,
    // and none while no blocking query or held follow request waits.
    if (waiters.size() != 0 && !waiters_wake_posted.exchange(true)) {
      asio::post(io, [this] {
        waiters_wake_posted = false;
        wake_waiters();
      });
    }
    if (held_follow_count.load(std::memory_order_acquire) != 0 &&
        !held_follow_wake_posted.exchange(true)) {
      asio::post(io, [this] {
        held_follow_wake_posted = false;
        wake_held_follows();
      });
    }
  });

  if (dir_has_entries(data_dir / kRaftDirName)) {
    if (cluster_id.empty()) {
      return Status::conflict(
          (data_dir / kRaftDirName).string() +
          " holds Raft state but there is no cluster_id file beside it; restore it from a backup");
    }
    SHOAL_RETURN_IF_ERROR(open_raft(std::nullopt));
    bootstrap_status = "rejoined with the Raft state in the data dir";
  } else if (config.bootstrap_expect == 0) {
    bootstrap_status = "join only (no --bootstrap-expect): following the cluster it finds";
  }
  spdlog::info("rpc: listening on {} (encrypted){}", format_host_port(config.bind, config.rpc_port),
               cluster_id.empty() ? "" : ", cluster " + cluster_id);
  publish_meta();
  arm_tick();
  return Status::ok();
}

void AgentCluster::Impl::stop() {
  if (stopped) return;
  stopped = true;
  tick_timer.cancel();
  gossip.on_keyring_change(nullptr);
  // Observers holding a long poll here hear at once that this voter goes
  // (and pick another), before the RPC server closes.
  wake_held_follows();
  held_follow_timer.cancel();
  // The cluster thread's objects stop on it (the host first: it sends
  // through the client), then the thread runs out of work and ends.
  auto stop_rpc = [this] {
    if (raft) raft->stop();
    if (server) server->stop();
    if (client) client->stop();
  };
  if (rpc_thread.joinable()) {
    asio::post(*rpc_io, stop_rpc);
    rpc_work.reset();
    rpc_thread.join();
  } else {
    stop_rpc();
  }
  // A forward was sent to the leader, so its outcome is unknown (504); a
  // waiting request gets 503.
  forward_timer.cancel();
  run_forwards(forward_router.take_all());
  waiters.wake_all();
  peers_waiters.wake_all();
}

void AgentCluster::Impl::arm_tick() {
  if (stopped) return;
  tick_timer.expires_after(kTickEvery);
  tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    on_tick();
    arm_tick();
  });
}

void AgentCluster::Impl::on_tick() {
  refresh_peers();
  if (!raft) maybe_bootstrap();
  if (raft) {
    refresh_status();
    probe_while_leaderless();
  } else if (!stepping_out && (!cluster_id.empty() || !peers.empty())) {
    follow_step();
  }
  publish_meta();
  note_peers_view();
}

void AgentCluster::Impl::refresh_peers() {
  std::map<NodeId, PeerInfo> next;
  for (const gossip::Member& m : gossip.core().members()) {
    PeerInfo p;
    p.id = m.id;
    p.name = m.meta.name;
    p.address = m.meta.gossip.ip;
    p.rpc_port = m.meta.rpc_port;
    p.alive =
        m.status == gossip::MemberStatus::kAlive || m.status == gossip::MemberStatus::kSuspect;
    p.role = m.meta.role;
    p.cluster_id = m.meta.cluster_id;
    if (auto z = m.meta.attrs.find("zone"); z != m.meta.attrs.end()) p.zone = z->second;
    p.may_vote =
        std::find(m.meta.tags.begin(), m.meta.tags.end(), "voter=never") == m.meta.tags.end();
    p.state_schema = advertised_state_schema(m.meta.tags);
    if (m.id != identity.id && p.rpc_port != 0 &&
        (p.cluster_id.empty() || cluster_id.empty() || p.cluster_id == cluster_id)) {
      boost::system::error_code ec;
      auto ip = asio::ip::make_address(p.address, ec);
      if (!ec) transport->set_peer(m.id, tcp::endpoint(ip, p.rpc_port));
    }
    next.emplace(m.id, std::move(p));
  }
  peers = std::move(next);
}

std::optional<tcp::endpoint> AgentCluster::Impl::rpc_endpoint(const NodeId& id) const {
  return transport->peer(id);
}

std::optional<std::string> AgentCluster::Impl::upgrade_holdout(
    std::span<const uint8_t> entry) const {
  // Checked on every state write, even one of schema 1 that every real build
  // understands: the test fault old-state-schema advertises 0, and a test
  // must be able to watch the gate hold a write back. It costs a map lookup
  // per voter (5 at most); names are looked up only for the error.
  const uint32_t needed = scheduler::schema_needed(entry);
  std::vector<VoterSchema> voters;
  voters.reserve(conf.voters.size());
  for (const NodeId& id : conf.voters) {
    VoterSchema v{id, {}, std::nullopt};
    if (id == identity.id) {
      v.schema = own_state_schema(config);
    } else if (auto it = peers.find(id); it != peers.end()) {
      v.schema = it->second.state_schema;
    }
    voters.push_back(std::move(v));
  }
  if (!voters_lacking_schema(voters, needed)) return std::nullopt;
  for (VoterSchema& v : voters) v.name = name_of(v.id);
  return voters_lacking_schema(voters, needed);
}

std::string AgentCluster::Impl::name_of(const NodeId& id) const {
  if (id == identity.id) return config.name;
  auto it = peers.find(id);
  return it == peers.end() ? std::string() : it->second.name;
}

void AgentCluster::Impl::maybe_bootstrap() {
  const auto expect = static_cast<uint32_t>(config.bootstrap_expect);
  const std::vector<BootstrapPeer> view =
      bootstrap_view(gossip.core().members(), identity.id, expect, cluster_id);
  BootstrapDecision d = decide_bootstrap(identity.id, expect, !cluster_id.empty(), view);
  if (!cluster_id.empty()) d.status = "observer: following the log of cluster " + cluster_id;
  if (d.status != bootstrap_status && !d.status.empty()) {
    spdlog::info("cluster: {}", d.status);
    bootstrap_status = d.status;
  }
  // Publish N (and the candidate set once there is one) while no cluster is
  // in view: the others count the agents that expect the same N from it.
  const std::string tag = bootstrap_tag_to_publish(expect, cluster_in_view(view), d);
  gossip.update_meta([&](gossip::NodeMeta& meta) {
    std::erase_if(meta.tags, [](const std::string& t) { return t.starts_with("bootstrap="); });
    if (!tag.empty()) meta.tags.push_back(tag);
  });
  if (!d.form) return;
  raft::ConfState initial;
  initial.voters = d.voters;
  spdlog::info("cluster: forming cluster {} with {} voters", d.cluster_id, d.voters.size());
  if (Status st = adopt_cluster_id(d.cluster_id); !st.is_ok()) {
    spdlog::error("cluster: cannot record the cluster id: {}", st.message());
    return;
  }
  if (Status st = open_raft(initial); !st.is_ok()) {
    spdlog::error("cluster: cannot open Raft: {}", st.message());
    return;
  }
  bootstrap_status = "formed the cluster with " + std::to_string(d.voters.size()) + " voter(s)";
  gossip.update_meta([&](gossip::NodeMeta& meta) {
    std::erase_if(meta.tags, [](const std::string& t) { return t.starts_with("bootstrap="); });
  });
}

Status AgentCluster::Impl::adopt_cluster_id(const std::string& id) {
  if (id == cluster_id) return Status::ok();
  if (!cluster_id.empty()) {
    return Status::conflict("this agent belongs to cluster " + cluster_id + ", not " + id);
  }
  if (id.empty() || id.size() > kMaxClusterIdBytes) {
    return Status::invalid_argument("bad cluster id");
  }
  SHOAL_RETURN_IF_ERROR(write_file_atomic(data_dir / kClusterIdFile, id + "\n", 0644));
  cluster_id = id;
  spdlog::info("cluster: this agent belongs to cluster {}", cluster_id);
  return Status::ok();
}

Status AgentCluster::Impl::open_raft(std::optional<raft::ConfState> bootstrap) {
  const bool o_bootstrap = bootstrap.has_value();
  RaftHostOptions o;
  o.raft.id = identity.id;
  o.data_dir = (data_dir / kRaftDirName).string();
  o.bootstrap = std::move(bootstrap);
  o.compact_every = static_cast<uint64_t>(config.raft_snapshot_threshold);
  o.compact_keep = std::max<uint64_t>(1, o.compact_every / 10);
  o.store.skip_sync = config.test_faults.skip_fsync;
  if (config.test_faults.power_cut) {
    if (!fault_fs) fault_fs = std::make_shared<raft::FaultFs>();
    o.store.env = raft::FaultFs::make_env(fault_fs);
  }
  o.on_role_change = [this](bool lead, uint64_t t, const raft::NodeId& leader_id) {
    asio::post(io, [this, lead, t, leader_id] { on_role_change(lead, t, leader_id); });
  };
  // An observer that becomes a learner receives the log again from its start.
  machine.reset();
  auto host = RaftHost::open(std::move(o), *transport, machine, rpc_io.get());
  if (!host.is_ok()) return host.status();
  raft = std::move(*host);
  receiver = std::make_unique<RaftRpcReceiver>(*raft);
  // Started on its thread, before any frame the receiver hands over there.
  asio::post(*rpc_io, [h = raft.get()] { h->start(); });
  raft_receiver.store(receiver.get(), std::memory_order_release);
  if (!o_bootstrap) bootstrap_status = "in the Raft configuration of cluster " + cluster_id;
  follow = FollowClient{};
  return Status::ok();
}

void AgentCluster::Impl::on_role_change(bool lead, uint64_t t, const NodeId& leader_id) {
  if (stopped) return;
  if (lead != is_leader || leader_id != leader) {
    if (lead) {
      spdlog::info("raft: this node is the leader (term {})", t);
    } else if (!leader_id.is_zero()) {
      spdlog::info("raft: leader is {} (term {})",
                   name_of(leader_id).empty() ? leader_id.short_string() : name_of(leader_id), t);
    }
  }
  is_leader = lead;
  term = t;
  leader = leader_id;
  autopilot.done();
  refresh_status();
  release_forwards_to_old_leaders();
  check_leader_waiters();
  wake_held_follows();
}

void AgentCluster::Impl::refresh_status() {
  if (!raft) return;
  raft->status([this](RaftStatus st) {
    asio::post(io, [this, st = std::move(st)]() mutable {
      if (stopped) return;
      conf = st.conf;
      term = st.term;
      leader = st.leader;
      is_leader = st.role == raft::Role::kLeader;
      release_forwards_to_old_leaders();
      wake_held_follows();
      const bool lead = is_leader;
      status = std::move(st);
      if (lead) {
        const auto now = clock->now();
        run_autopilot(*status);
        if (now - last_upserts >= kUpsertsEvery) {
          last_upserts = now;
          write_node_upserts();
        }
      }
    });
  });
}

ClusterRole AgentCluster::Impl::role() const {
  if (raft) {
    if (conf.is_voter(identity.id)) return ClusterRole::kVoter;
    if (conf.is_learner(identity.id)) return ClusterRole::kLearner;
    return ClusterRole::kObserver;
  }
  return cluster_id.empty() ? ClusterRole::kNone : ClusterRole::kObserver;
}

void AgentCluster::Impl::publish_meta() {
  const std::string r = role() == ClusterRole::kNone ? "" : role_name(role());
  const bool never = config.voter == "never";
  const std::string schema = state_schema_tag(own_state_schema(config));
  gossip.update_meta([&](gossip::NodeMeta& meta) {
    meta.cluster_id = cluster_id;
    meta.role = r;
    if (std::find(meta.tags.begin(), meta.tags.end(), schema) == meta.tags.end()) {
      std::erase_if(meta.tags, [](const std::string& t) { return t.starts_with(kStateSchemaTag); });
      meta.tags.push_back(schema);
    }
    const bool tagged =
        std::find(meta.tags.begin(), meta.tags.end(), "voter=never") != meta.tags.end();
    if (never && !tagged) meta.tags.push_back("voter=never");
  });
}

void AgentCluster::Impl::run_autopilot(const RaftStatus& st) {
  AutopilotConfig cfg;
  cfg.voters = static_cast<size_t>(config.voters);
  cfg.dead_voter_grace = config.dead_voter_grace_ms;
  std::vector<AutopilotPeer> view;
  view.reserve(peers.size());
  for (const auto& [id, p] : peers) {
    view.push_back(AutopilotPeer{id, p.alive, p.may_vote, p.zone, p.cluster_id});
  }
  auto d = autopilot.step(clock->now(), cfg, identity.id, cluster_id, st, view);
  if (!d) return;
  spdlog::info("autopilot: {}", d->reason);
  raft->propose_conf_change(*d->change, [this](Status s, raft::Index) {
    asio::post(io, [this, s] {
      autopilot.done();
      if (!s.is_ok()) spdlog::warn("autopilot: change not made: {}", s.message());
      refresh_status();
    });
  });
}

void AgentCluster::Impl::write_node_upserts() {
  if (upserts_inflight > 0) return;
  const std::vector<gossip::Member> members = gossip.core().members();
  const auto now_unix_ms = static_cast<uint64_t>(unix_ms());
  std::vector<scheduler::NodeUpsert> todo = machine.read([&](const scheduler::ClusterState& state) {
    return registry_upserts(members, state.nodes(), cluster_id, now_unix_ms, kMaxUpsertsInflight);
  });
  for (auto& u : todo) {
    std::vector<uint8_t> entry = scheduler::encode(u);
    if (auto why = upgrade_holdout(entry)) {
      spdlog::debug("registry: not written yet: {}", *why);
      return;
    }
    ++upserts_inflight;
    raft->propose(std::move(entry), [this](Status, raft::Index) {
      asio::post(io, [this] {
        if (upserts_inflight > 0) --upserts_inflight;
      });
    });
  }
}

void AgentCluster::Impl::wake_waiters() { waiters.wake(machine.kv_index()); }

void AgentCluster::add_self(nlohmann::json& self) const {
  const Impl& p = *impl_;
  self["cluster"] = {
      {"cluster_id", p.cluster_id},
      {"role", role_name(p.role())},
      {"rpc", format_host_port(p.config.bind, p.config.rpc_port)},
      {"leader", p.leader.is_zero() ? "" : p.leader.to_string()},
      {"applied_index", p.machine.applied()},
  };
}

void AgentCluster::write_metrics(MetricsText& m) const {
  const Impl& p = *impl_;
  m.gauge("shoal_raft_is_leader", "1 if this agent is the Raft leader", p.is_leader ? 1 : 0);
  m.gauge("shoal_raft_term", "The Raft term this agent knows", static_cast<double>(p.term));
  m.gauge("shoal_raft_applied_index", "The last log index applied to the state here",
          static_cast<double>(p.machine.applied()));
  // Every blocking list counts: KV, /v1/raft/peers and /v1/members. Each
  // list has its own cap of --http-max-blocking-queries.
  size_t waiting = p.waiters.size() + p.peers_waiters.size();
  uint64_t refused = p.waiters.refused() + p.peers_waiters.refused();
  if (const BlockingQueries* members = p.gossip.member_waiters()) {
    waiting += members->size();
    refused += members->refused();
  }
  m.gauge("shoal_http_blocking_queries", "Blocking queries (GET ...?index=N) waiting here",
          static_cast<double>(waiting));
  m.gauge("shoal_http_blocking_queries_max",
          "The most blocking queries that may wait here on each list (--http-max-blocking-queries)",
          static_cast<double>(p.waiters.max()));
  m.counter("shoal_http_blocking_queries_refused_total",
            "Blocking queries answered 429 because the most were waiting on their list",
            static_cast<double>(refused));
  if (p.raft) {
    const RaftHostStats& s = p.raft->stats();
    m.counter("shoal_raft_synced_saves_total", "Synced writes of the Raft log",
              static_cast<double>(s.synced_saves.load()));
    m.counter("shoal_raft_synced_save_seconds_total", "Time spent in synced writes of the log",
              static_cast<double>(s.synced_save_ns.load()) / 1e9);
    m.counter("shoal_raft_synced_entries_total", "Entries carried by synced writes",
              static_cast<double>(s.synced_entries.load()));
    m.counter("shoal_raft_readies_total", "Ready batches handled by the Raft loop",
              static_cast<double>(s.readies.load()));
    m.counter("shoal_raft_proposals_held_total",
              "Proposals that waited for the leader's previous batch to commit",
              static_cast<double>(s.held_proposals.load()));
    m.counter("shoal_raft_paced_batches_total", "Batches of held proposals released by a commit",
              static_cast<double>(s.paced_batches.load()));
    m.counter("shoal_raft_messages_in_total", "Raft messages received",
              static_cast<double>(s.messages_in.load()));
    m.counter("shoal_raft_messages_out_total", "Raft messages sent",
              static_cast<double>(s.messages_out.load()));
    m.counter("shoal_raft_messages_rejected_total",
              "Raft messages the core refused (malformed, or from a peer's bug)",
              static_cast<double>(s.messages_rejected.load()));
  }
  m.gauge("shoal_follow_requests_held",
          "Observers' follow requests this voter holds until there is something new",
          static_cast<double>(p.held_follow_count.load()));
  m.counter("shoal_follow_failovers_total",
            "Voters this observer stopped following: connection broken, silent, erroring or "
            "behind",
            static_cast<double>(p.follow.plan().failovers()));
  const RpcCounters& sc = p.server->counters();
  m.counter("shoal_rpc_handshakes_ok_total", "RPC handshakes that succeeded (server side)",
            static_cast<double>(sc.handshakes_ok.load()));
  m.counter("shoal_rpc_handshakes_failed_auth_total",
            "RPC handshakes refused: wrong key, label or transcript (server side)",
            static_cast<double>(sc.handshakes_failed_auth.load()));
  m.counter("shoal_rpc_frames_rejected_auth_total", "RPC frames that failed to open",
            static_cast<double>(sc.frames_rejected_auth.load()));
  const RpcCounters& cc = p.client->counters();
  m.counter("shoal_rpc_connections_accepted_total", "RPC connections accepted (server side)",
            static_cast<double>(sc.connections_accepted.load()));
  m.counter("shoal_rpc_connections_refused_total",
            "RPC connections closed at accept: every slot held an open channel",
            static_cast<double>(sc.closed_connection_limit.load()));
  m.counter("shoal_rpc_connections_evicted_total",
            "RPC connections still in their handshake closed to admit a newer one",
            static_cast<double>(sc.closed_evicted.load()));
  m.counter("shoal_rpc_connections_idle_closed_total",
            "Open RPC channels closed after carrying nothing for the idle timeout",
            static_cast<double>(sc.closed_idle.load() + cc.closed_idle.load()));
  m.counter("shoal_rpc_connections_stalled_closed_total",
            "RPC connections aborted after their sent data went unacknowledged for the user "
            "timeout (a partition, or a peer gone or paused)",
            static_cast<double>(sc.closed_stalled.load() + cc.closed_stalled.load()));
  m.counter("shoal_rpc_connections_key_removed_total",
            "Open RPC channels closed because their key left the keyring",
            static_cast<double>(sc.closed_key_removed.load() + cc.closed_key_removed.load()));
  m.counter("shoal_rpc_accept_errors_total",
            "Failed accept() calls on the RPC port (e.g. out of file descriptors)",
            static_cast<double>(sc.accept_errors.load()));
  m.gauge("shoal_rpc_connections", "RPC connections open, handshaking ones included",
          static_cast<double>(sc.connections_active.load() + cc.connections_active.load()));
  m.counter("shoal_rpc_frames_dropped_decode_total", "RPC frames that did not decode",
            static_cast<double>(p.frames_dropped_decode.load()));
}

}  // namespace shoal::node
