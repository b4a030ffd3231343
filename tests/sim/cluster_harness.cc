#include "tests/sim/cluster_harness.h"

#include <algorithm>
#include <functional>
#include <span>
#include <string_view>
#include <utility>

#include "gossip/types.h"
#include "node/cluster/autopilot_loop.h"
#include "node/cluster/cluster_bootstrap.h"
#include "node/cluster/cluster_machine.h"
#include "node/cluster/cluster_rpc.h"
#include "node/cluster/follow_client.h"
#include "node/cluster/follow_holds.h"
#include "node/cluster/follow_serve.h"
#include "node/cluster/forward_router.h"
#include "node/cluster/registry_writer.h"
#include "node/cluster/replaced_voter.h"
#include "node/consensus/raft_host.h"
#include "node/consensus/raft_rpc.h"
#include "scheduler/cluster_state.h"
#include "scheduler/kv_state.h"
#include "scheduler/node_registry.h"
#include "tests/sim/sim_host_executor.h"
#include "tests/sim/sim_log_writer.h"

namespace shoal::sim::cluster_sim {

using namespace std::chrono_literals;
using raft::Entry;
using raft_sim::SimLogWriter;
using Kind = ClusterWire::Kind;

namespace {

uint64_t entry_hash(const Entry& e) {
  std::string_view sv(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  return std::hash<std::string_view>{}(sv)*31 + static_cast<uint64_t>(e.type);
}

int64_t ns(TimePoint t) { return t.time_since_epoch().count(); }

constexpr std::string_view kKvPrefix = "/v1/kv/";

// An agent as the other end of a connection: which one, in which life.
struct Peer {
  NodeIndex node = 0;
  uint32_t incarnation = ClusterWire::kAnyIncarnation;
};

// What an agent's ForwardRouter carries: the write, and where its answer
// goes (this agent's writer, or the agent that forwarded it here).
struct Handle {
  uint64_t seq = 0;  // own writer's write
  bool own = true;
  Peer from;            // !own: the agent that forwarded it, in its life then
  uint64_t remote = 0;  // !own: its ForwardRequest id
  std::string key, value;
  uint8_t hops = 0;
};
using Router = node::ForwardRouter<Handle, uint32_t, NodeIndex>;

// The agent's state machine (node/cluster/cluster_machine.h) with the ledger's
// hooks: every entry applied for the first time, every snapshot restored.
class LedgerMachine final : public node::StateMachine {
 public:
  struct Hooks {
    std::function<void(const Entry&)> on_apply;
    std::function<void(uint64_t index)> on_restore;
  };
  explicit LedgerMachine(Hooks hooks) : hooks_(std::move(hooks)) {}

  void apply(const Entry& e) override {
    if (e.index.value() > inner_.applied()) hooks_.on_apply(e);
    inner_.apply(e);
  }
  std::vector<uint8_t> snapshot() override { return inner_.snapshot(); }
  void restore(const raft::Snapshot& snap) override {
    hooks_.on_restore(snap.meta.index.value());
    inner_.restore(snap);
  }
  // An observer's catch-up, as the agent does it.
  void restore_image(uint64_t index, std::span<const uint8_t> image) {
    hooks_.on_restore(index);
    Status st = inner_.restore_image(image);
    SHOAL_CHECK_MSG(st.is_ok(), "cluster sim: a voter's snapshot does not restore");
  }
  void reset() { inner_.reset(); }
  uint64_t applied() const { return inner_.applied(); }
  std::vector<uint8_t> image() { return inner_.snapshot(); }
  const node::ClusterMachine& inner() const { return inner_; }

 private:
  Hooks hooks_;
  node::ClusterMachine inner_;
};

// The registry writer's wall clock: virtual time from a fixed epoch.
uint64_t unix_ms(TimePoint t) {
  return 1'800'000'000'000ULL + static_cast<uint64_t>(ns(t) / 1'000'000);
}

}  // namespace

LinkModel lan() {
  LinkModel m;
  m.latency_min = 200us;
  m.latency_max = 2ms;
  return m;
}

// One simulated agent (see the header). Every callback runs inside
// exec_.run(), which drains the work the host and the agent's pieces posted.
class ClusterHarness::Agent final : public sim::Process<ClusterWire>, private node::Transport {
 public:
  Agent(ClusterHarness& h, NodeIndex self)
      : h_(h),
        self_(self),
        id_(id_of(self)),
        exec_(*h.sim_, self),
        writer_(*h.stores_[self], SimLogWriter::Hooks{}),
        machine_(machine_hooks()),
        follow_(h.config_.follow) {}

  ~Agent() override {
    // The host answers its proposals as it is destroyed: nobody hears them.
    dying_ = true;
    if (h_.procs_[self_] == this) h_.procs_[self_] = nullptr;
  }

  void start(Context<ClusterWire>& ctx) override {
    h_.procs_[self_] = this;
    started_at_ = h_.sim_->now();
    cluster_id_ = h_.disk_cluster_id_[self_];
    exec_.run(ctx, [&] {
      const bool empty = h_.stores_[self_]->last_index().value() == 0 &&
                         h_.stores_[self_]->hard_state().term.value() == 0;
      if (!empty) {
        open_raft(ctx, std::nullopt);  // rejoins with the log on its disk
      } else if (h_.config_.bootstrap_expect == 0 && h_.is_voter(self_) && ctx.incarnation() == 0) {
        raft::ConfState cs;
        for (NodeIndex i = 0; i < h_.config_.voters; ++i) cs.voters.push_back(id_of(i));
        std::sort(cs.voters.begin(), cs.voters.end());
        open_raft(ctx, cs);
      }
      publish();
      tick_timer_ = exec_.make_timer();
      holds_timer_ = exec_.make_timer();
      router_timer_ = exec_.make_timer();
      const auto phase = Duration(static_cast<int64_t>(
          ctx.rng().uniform(static_cast<uint64_t>(h_.config_.agent_tick.count()))));
      tick_timer_->arm(ctx.now() + phase, [this] { on_tick(); });
    });
  }

  void receive(Context<ClusterWire>& ctx, NodeIndex from, const ClusterWire& w) override {
    if (w.to_incarnation != ClusterWire::kAnyIncarnation && w.to_incarnation != ctx.incarnation()) {
      return;  // for the connection of an earlier life of this agent
    }
    exec_.run(ctx, [&] {
      switch (w.kind) {
        case Kind::kRaft:
          if (!host_ && !cluster_id_.empty() && h_.published_[from].cluster_id == cluster_id_ &&
              node::opens_raft_log(*w.raft)) {
            // A member replicates to this observer: it joins the configuration.
            machine_.reset();
            open_raft(ctx, std::nullopt);
          }
          if (host_) host_->deliver(*w.raft);
          break;
        case Kind::kRequest:
          on_request(Peer{from, w.from_incarnation}, *w.frame);
          break;
        case Kind::kReply:
          on_reply(from, *w.frame);
          break;
        case Kind::kClosed:
          on_closed(from, w.open);
          break;
        case Kind::kNone:
          break;
      }
    });
  }

  void timer(Context<ClusterWire>& ctx, uint64_t token) override { exec_.fire(ctx, token); }

  template <class F>
  void act(Context<ClusterWire>& ctx, F&& f) {
    exec_.run(ctx, std::forward<F>(f));
  }

  // This agent's writer asks it to write key=value (inside act()).
  void submit(uint64_t seq, std::string key, std::string value) {
    Handle hd;
    hd.seq = seq;
    hd.key = std::move(key);
    hd.value = std::move(value);
    dispatch(std::move(hd), std::nullopt);
  }

  raft::NodeId leader() const { return leader_; }
  bool has_log() const { return host_ != nullptr; }
  const raft::ConfState& conf() const { return conf_; }
  bool leads() const { return host_ != nullptr && host_->is_leader(); }
  uint64_t term() const { return host_ ? host_->term() : term_; }
  uint64_t applied() const { return machine_.applied(); }
  uint64_t failovers() const { return follow_.plan().failovers(); }
  std::vector<uint8_t> image() { return machine_.image(); }
  std::optional<std::string> kv_get(const std::string& key) const {
    return machine_.inner().read([&](const scheduler::ClusterState& st) {
      auto e = st.kv().get(key);
      return e ? std::optional<std::string>(std::string(e->value.begin(), e->value.end()))
               : std::nullopt;
    });
  }
  // The node registry this agent holds: alive per node.
  std::map<raft::NodeId, bool> registry() const {
    return machine_.inner().read([](const scheduler::ClusterState& st) {
      std::map<raft::NodeId, bool> out;
      for (const auto& [id, r] : st.nodes().all()) out[id] = r.alive;
      return out;
    });
  }

 private:
  // ---- Raft (voters) ----

  LedgerMachine::Hooks machine_hooks() {
    return LedgerMachine::Hooks{[this](const Entry& e) { on_apply(e); },
                                [this](uint64_t index) { h_.on_restored(self_, index); }};
  }

  void open_raft(Context<ClusterWire>& ctx, std::optional<raft::ConfState> bootstrap) {
    const ClusterSimConfig& cfg = h_.config_;
    node::RaftHostOptions o;
    o.raft = cfg.raft;
    o.raft.id = id_;
    o.bootstrap = std::move(bootstrap);
    o.tick = cfg.raft_tick;
    o.rng_seed = ctx.rng().next_u64() | 1;
    o.compact_every = cfg.compact_every;
    o.compact_keep = cfg.compact_keep;
    o.compact_min_interval = cfg.compact_min_interval;
    o.on_role_change = [this](bool lead, uint64_t t, const raft::NodeId& l) {
      leader_ = l;
      term_ = t;
      h_.on_role(self_, lead, t);
      // As the agent does: after the host's pass, not inside it.
      exec_.post([this, l] {
        autopilot_.done();
        router_.on_leader(l, now());
        run_router();
        wake_holds();
      });
    };
    auto host = node::RaftHost::open_with(std::move(o), *h_.stores_[self_], writer_, exec_, *this,
                                          machine_);
    SHOAL_CHECK_MSG(host.is_ok(), "cluster sim: the host does not open");
    host_ = std::move(*host);
    // Agents are separate processes: their hosts tick at unrelated phases.
    start_timer_ = exec_.make_timer();
    const auto phase = Duration(
        static_cast<int64_t>(ctx.rng().uniform(static_cast<uint64_t>(cfg.raft_tick.count()))));
    start_timer_->arm(ctx.now() + phase, [this] { host_->start(); });
  }

  void send(const raft::Message& m) override {
    auto to = index_of(m.to);
    Context<ClusterWire>* ctx = exec_.context();
    if (!to || ctx == nullptr) return;
    ctx->send(*to, ClusterWire{Kind::kRaft, std::make_shared<const raft::Message>(m), nullptr});
  }

  // ---- the cluster tick ----

  void on_tick() {
    if (!host_ && h_.config_.bootstrap_expect != 0 && cluster_id_.empty()) maybe_bootstrap();
    if (host_) {
      host_->status([this](node::RaftStatus st) {
        conf_ = st.conf;
        conf_committed_ = !st.conf_change_pending;
        commit_ = st.commit;
        if (st.role == raft::Role::kLeader) {
          run_autopilot(st);
          write_node_upserts();
        }
        status_ = std::move(st);
      });
      if (leaderless_.due(now(), !leader_.is_zero())) {
        send_follow(follow_.probes(now(), follow_sources(), term()));
      }
    } else {
      follow_step();
    }
    publish();
    tick_timer_->arm(exec_.clock().now() + h_.config_.agent_tick, [this] { on_tick(); });
  }

  // ---- gossip metadata, formation, autopilot, stepping out ----

  // What this agent's gossip entry says (the agent's publish_meta()).
  void publish() {
    gossip::NodeMeta& m = h_.published_[self_];
    m.name = "agent" + std::to_string(self_);
    m.cluster_id = cluster_id_;
    m.role = host_ ? (conf_.is_voter(id_)     ? "voter"
                      : conf_.is_learner(id_) ? "learner"
                                              : "observer")
                   : (cluster_id_.empty() ? "" : "observer");
    if (self_ < h_.config_.zones.size()) m.attrs["zone"] = h_.config_.zones[self_];
    const bool never = std::find(h_.config_.voter_never.begin(), h_.config_.voter_never.end(),
                                 self_) != h_.config_.voter_never.end();
    if (never && std::find(m.tags.begin(), m.tags.end(), "voter=never") == m.tags.end()) {
      m.tags.push_back("voter=never");
    }
  }

  // --bootstrap-expect (the agent's maybe_bootstrap()).
  void maybe_bootstrap() {
    const uint32_t expect = h_.config_.bootstrap_expect;
    const std::vector<gossip::Member> members = h_.members_seen_by(self_);
    const std::vector<node::BootstrapPeer> view =
        node::bootstrap_view(members, id_, expect, cluster_id_);
    node::BootstrapDecision d = node::decide_bootstrap(id_, expect, !cluster_id_.empty(), view);
    std::vector<std::string>& tags = h_.published_[self_].tags;
    std::erase_if(tags, [](const std::string& t) { return t.starts_with("bootstrap="); });
    const std::string tag = node::bootstrap_tag_to_publish(expect, node::cluster_in_view(view), d);
    if (!tag.empty()) tags.push_back(tag);
    if (!d.form) return;
    std::erase_if(tags, [](const std::string& t) { return t.starts_with("bootstrap="); });
    cluster_id_ = d.cluster_id;
    h_.disk_cluster_id_[self_] = cluster_id_;
    raft::ConfState initial;
    initial.voters = d.voters;
    open_raft(*exec_.context(), initial);
  }

  // Autopilot on the leader (the agent's run_autopilot()).
  void run_autopilot(const node::RaftStatus& st) {
    node::AutopilotConfig cfg;
    cfg.voters = h_.config_.target_voters != 0 ? h_.config_.target_voters : h_.config_.voters;
    cfg.stable_for = h_.config_.stable_for;
    cfg.dead_voter_grace = h_.config_.dead_voter_grace;
    std::vector<node::AutopilotPeer> peers;
    for (const gossip::Member& m : h_.members_seen_by(self_)) {
      const bool never =
          std::find(m.meta.tags.begin(), m.meta.tags.end(), "voter=never") != m.meta.tags.end();
      auto zone = m.meta.attrs.find("zone");
      peers.push_back(node::AutopilotPeer{m.id, m.status == gossip::MemberStatus::kAlive, !never,
                                          zone == m.meta.attrs.end() ? "" : zone->second,
                                          m.meta.cluster_id});
    }
    auto d = autopilot_.step(now(), cfg, id_, cluster_id_, st, peers);
    if (!d) return;
    h_.autopilot_log_.push_back(d->reason);
    host_->propose_conf_change(*d->change, [this](Status, raft::Index) { autopilot_.done(); });
  }

  // The node registry on the leader: every 2 s, what gossip shows that the
  // registry does not, at most 16 entries in flight.
  void write_node_upserts() {
    if (upserts_inflight_ > 0 || now() - last_upserts_ < 2s) return;
    last_upserts_ = now();
    const std::vector<gossip::Member> members = h_.members_seen_by(self_);
    std::vector<scheduler::NodeUpsert> todo =
        machine_.inner().read([&](const scheduler::ClusterState& st) {
          return node::registry_upserts(members, st.nodes(), cluster_id_, unix_ms(h_.sim_->now()),
                                        16);
        });
    for (const scheduler::NodeUpsert& u : todo) {
      ++upserts_inflight_;
      host_->propose(scheduler::encode(u), [this](Status, raft::Index) {
        if (upserts_inflight_ > 0) --upserts_inflight_;
      });
    }
  }

  // A leaderless member's probe came back (the agent's on_follow_response
  // for members).
  void on_member_probe(NodeIndex from, const node::FollowResponse& r) {
    if (!follow_.take_probe(r.id) || !r.error.empty() || !status_) return;
    if (!cluster_id_.empty() && r.cluster_id != cluster_id_) return;
    const node::LogPosition self{id_, status_->term, status_->last_index};
    const node::ClusterReport report{id_of(from), r.leader, r.term,
                                     r.commit,    r.conf,   r.conf_committed};
    if (node::replaced_by_cluster(self, report)) h_.step_out(self_);
  }

  void send_follow(std::vector<node::FollowClient::Send> sends) {
    for (node::FollowClient::Send& s : sends) {
      if (auto to = index_of(s.to)) rpc(*to, Kind::kRequest, node::encode_frame(s.req));
    }
  }

  // ---- RPC ----

  // Sends a frame: a request to `to` (any incarnation), or a reply to the
  // incarnation that asked.
  void rpc(Peer to, Kind kind, std::vector<uint8_t> frame) {
    Context<ClusterWire>* ctx = exec_.context();
    if (dying_) return;
    SHOAL_CHECK_MSG(ctx != nullptr, "cluster sim: an agent sent outside a callback");
    const uint32_t mine = ctx->incarnation();
    if (kind == Kind::kRequest && !h_.sim_->is_up(to.node)) {
      // Connection refused, one trip later.
      h_.sim_->after(h_.config_.network.latency_min,
                     [hh = &h_, to = to.node, from = self_, mine](ClusterSimulator&) {
                       hh->close_connection(to, from, mine, false);
                     });
      return;
    }
    if (!h_.sim_->reachable(self_, to.node) || !h_.sim_->reachable(to.node, self_)) {
      // Cut off: the frame is lost and, its data unacknowledged, the
      // connection aborts a little later (if the cut lasts).
      h_.sim_->after(h_.config_.rpc_abort_after,
                     [hh = &h_, to = to.node, from = self_, mine](ClusterSimulator& s) {
                       if (!s.reachable(from, to) || !s.reachable(to, from)) {
                         hh->close_connection(to, from, mine, true);
                       }
                     });
      return;
    }
    ClusterWire w{kind, nullptr, std::make_shared<const std::vector<uint8_t>>(std::move(frame))};
    w.from_incarnation = mine;
    w.to_incarnation = kind == Kind::kReply ? to.incarnation : ClusterWire::kAnyIncarnation;
    ctx->send_reliable(to.node, std::move(w));
  }
  void rpc(NodeIndex to, Kind kind, std::vector<uint8_t> frame) {
    rpc(Peer{to, ClusterWire::kAnyIncarnation}, kind, std::move(frame));
  }

  void on_request(Peer from, const std::vector<uint8_t>& frame) {
    if (frame.empty()) return;
    const std::span<const uint8_t> body(frame.data() + 1, frame.size() - 1);
    if (frame[0] == node::kFollowRpcChannel) {
      auto req = node::decode_follow_request(body);
      SHOAL_CHECK_MSG(req.is_ok(), "cluster sim: a follow request does not decode");
      serve_follow(from, *req);
    } else if (frame[0] == node::kForwardRpcChannel) {
      auto req = node::decode_forward_request(body);
      SHOAL_CHECK_MSG(req.is_ok(), "cluster sim: a forward request does not decode");
      serve_forward(from, std::move(*req));
    }
  }

  void on_reply(NodeIndex from, const std::vector<uint8_t>& frame) {
    if (frame.empty()) return;
    const std::span<const uint8_t> body(frame.data() + 1, frame.size() - 1);
    if (frame[0] == node::kFollowRpcChannel) {
      auto r = node::decode_follow_response(body);
      SHOAL_CHECK_MSG(r.is_ok(), "cluster sim: a follow answer does not decode");
      on_follow_response(from, std::move(*r));
    } else if (frame[0] == node::kForwardRpcChannel) {
      auto r = node::decode_forward_response(body);
      SHOAL_CHECK_MSG(r.is_ok(), "cluster sim: a forward answer does not decode");
      auto a = router_.answered(r->id, r->status, r->status == 503, now());
      if (a) act_on(std::move(*a));
      run_router();
    }
  }

  void on_closed(NodeIndex peer, bool open) {
    if (!host_ && !h_.config_.control_ignore_closed) {
      follow_.failed(id_of(peer), now());
      follow_step();
    }
    for (auto& a : router_.connection_failed(peer, open, now())) act_on(std::move(a));
    run_router();
  }

  TimePoint now() const { return exec_.clock().now(); }

  // ---- serving the followed log (voters) ----

  node::FollowView follow_view() const {
    return node::FollowView{applied(), term(), leader_, host_ != nullptr};
  }

  void serve_follow(Peer from, const node::FollowRequest& req) {
    const node::FollowView view = follow_view();
    if (holds_.should_hold(req, view)) {
      holds_.hold(req, from, now(), view);
      arm_holds();
      return;
    }
    answer_follow(from, req);
  }

  void answer_follow(Peer to, const node::FollowRequest& req) {
    node::FollowServerView v;
    v.cluster_id = cluster_id_;
    v.leader = leader_;
    v.term = term();
    v.conf = conf_;
    v.has_log = host_ != nullptr;
    v.conf_committed = conf_committed_;
    v.commit = std::max(commit_, applied());
    node::FollowAnswer a = node::follow_answer(req, v);
    if (a.read_bytes == 0) {
      rpc(to, Kind::kReply, node::encode_frame(a.response));
      return;
    }
    host_->read_committed(
        req.after, a.read_bytes,
        [this, to, req, resp = std::move(a.response)](Result<node::LogFollowBatch> batch) mutable {
          node::fill_follow_answer(req, std::move(batch), resp);
          rpc(to, Kind::kReply, node::encode_frame(resp));
        });
  }

  void wake_holds() {
    if (holds_.empty()) return;
    for (auto& d : holds_.take_due(now(), follow_view())) answer_follow(d.reply, d.req);
    arm_holds();
  }

  void arm_holds() {
    if (auto first = holds_.next_deadline()) {
      holds_timer_->arm(*first, [this] { wake_holds(); });
    } else {
      holds_timer_->cancel();
    }
  }

  // ---- following the log (observers) ----

  std::vector<raft::NodeId> follow_sources() const {
    std::vector<raft::NodeId> out;
    for (NodeIndex i = 0; i < h_.agents(); ++i) {
      const bool voter = h_.published_[i].role == "voter" || conf_.is_voter(id_of(i));
      const std::string& cid = h_.published_[i].cluster_id;
      if (i != self_ && voter && h_.sees_alive(self_, i) &&
          (cluster_id_.empty() || cid.empty() || cid == cluster_id_)) {
        out.push_back(id_of(i));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void follow_step() {
    if (host_) return;
    follow_.set_cluster_id(cluster_id_);
    send_follow(follow_.step(now(), follow_sources(), id_, applied()));
  }

  void on_follow_response(NodeIndex from, node::FollowResponse r) {
    if (host_) {
      on_member_probe(from, r);
      return;
    }
    node::FollowClient::Outcome out =
        follow_.on_response(id_of(from), std::move(r), now(), applied());
    if (out.ignored) return;
    if (out.adopt_cluster_id) {
      cluster_id_ = *out.adopt_cluster_id;
      h_.disk_cluster_id_[self_] = cluster_id_;
    }
    if (out.learned) {
      leader_ = follow_.known().leader;
      term_ = follow_.known().term;
      conf_ = follow_.known().conf;
      router_.on_leader(leader_, now());
    }
    if (out.snapshot) machine_.restore_image(out.snapshot_index, *out.snapshot);
    for (const Entry& e : out.entries) machine_.apply(e);
    run_router();
    follow_step();
  }

  // ---- writes ----

  node::LeaderView leader_view() const {
    node::LeaderView v;
    v.self = id_;
    v.leader = leader_;
    v.leads = leads();
    v.reachable = !leader_.is_zero() && index_of(leader_).has_value();
    return v;
  }

  // A write this agent takes (its writer's, or forwarded here): proposes it
  // when leading, else forwards it or waits for a leader.
  void dispatch(Handle hd, std::optional<TimePoint> wait_until) {
    if (leads()) {
      scheduler::KvCommand kv;
      kv.key = hd.key;
      kv.value.assign(hd.value.begin(), hd.value.end());
      std::vector<uint8_t> cmd = scheduler::encode(kv);
      host_->propose(std::move(cmd), [this, hd](Status st, raft::Index) {
        switch (st.code()) {
          case StatusCode::kOk:
            respond(hd, 200);
            return;
          case StatusCode::kUnavailable:
            respond(hd, 503);
            return;
          default:
            respond(hd, 504);
            return;
        }
      });
      return;
    }
    const node::ForwardRoute route = node::route_forward(hd.own ? 0 : hd.hops, leader_view());
    switch (route.kind) {
      case node::ForwardRoute::Kind::kSend: {
        const NodeIndex to = *index_of(leader_);
        node::ForwardRequest f;
        f.hops = static_cast<uint8_t>((hd.own ? 0 : hd.hops) + 1);
        f.method = "PUT";
        f.target = std::string(kKvPrefix) + hd.key;
        f.body = hd.value;
        Router::Forward fw;
        fw.leader = leader_;
        fw.to = to;
        fw.retryable = hd.own;
        fw.wait_until = wait_until;
        f.id = router_.add(std::move(hd), fw, now());
        rpc(to, Kind::kRequest, node::encode_frame(f));
        break;
      }
      case node::ForwardRoute::Kind::kWait:
        if (auto a = router_.wait(std::move(hd), route.why, route.avoid, wait_until, now())) {
          act_on(std::move(*a));
        }
        break;
      case node::ForwardRoute::Kind::kUnavailable:
        respond(hd, 503);
        break;
    }
    arm_router();
  }

  void serve_forward(Peer from, node::ForwardRequest req) {
    Handle hd;
    hd.own = false;
    hd.from = from;
    hd.remote = req.id;
    hd.hops = req.hops;
    hd.key = req.target.substr(std::min(req.target.size(), kKvPrefix.size()));
    hd.value = std::move(req.body);
    dispatch(std::move(hd), std::nullopt);
  }

  void respond(const Handle& hd, uint32_t status) {
    if (dying_) return;
    if (hd.own) {
      h_.write_done(self_, hd.seq, status);
      return;
    }
    node::ForwardResponse r;
    r.id = hd.remote;
    r.status = status;
    rpc(hd.from, Kind::kReply, node::encode_frame(r));
  }

  void act_on(Router::Action a) {
    switch (a.kind) {
      case Router::Action::Kind::kDispatch:
        dispatch(std::move(a.handle), a.wait_until);
        return;
      case Router::Action::Kind::kDeliver:
        respond(a.handle, a.response.value_or(500));
        return;
      case Router::Action::Kind::kUnavailable:
        respond(a.handle, 503);
        return;
      case Router::Action::Kind::kOutcomeUnknown:
        respond(a.handle, 504);
        return;
    }
  }

  void run_router() {
    for (auto& a : router_.take_due(now(), leader_view())) act_on(std::move(a));
    arm_router();
  }

  void arm_router() {
    if (auto first = router_.next_deadline()) {
      router_timer_->arm(std::max(*first, now()), [this] { run_router(); });
    } else {
      router_timer_->cancel();
    }
  }

  // ---- the ledger ----

  void on_apply(const Entry& e) {
    h_.on_applied(self_, e, started_at_, host_ == nullptr);
    if (Context<ClusterWire>* ctx = exec_.context()) ctx->trace(mix64(e.index.value(), self_));
    if (host_) exec_.post([this] { wake_holds(); });
  }

  ClusterHarness& h_;
  NodeIndex self_;
  raft::NodeId id_;
  bool dying_ = false;
  TimePoint started_at_{};
  SimHostExecutor<ClusterWire> exec_;
  SimLogWriter writer_;
  LedgerMachine machine_;
  // The registry writer (the agent's write_node_upserts()).
  TimePoint last_upserts_{};
  size_t upserts_inflight_ = 0;
  // What this agent knows of the cluster: from its host (voters) or its
  // followed log (observers).
  raft::NodeId leader_;
  uint64_t term_ = 0;
  raft::ConfState conf_;
  bool conf_committed_ = false;
  uint64_t commit_ = 0;
  std::string cluster_id_;
  std::optional<node::RaftStatus> status_;  // the last one (members)
  node::AutopilotLoop autopilot_;
  node::LeaderlessProbe leaderless_;
  node::FollowClient follow_;
  node::FollowHolds<Peer> holds_{10000};
  Router router_;
  std::unique_ptr<node::HostTimer> start_timer_, tick_timer_, holds_timer_, router_timer_;
  std::unique_ptr<node::RaftHost> host_;  // declared last: destroyed first
};

// ---- the harness ----

ClusterHarness::ClusterHarness(ClusterSimConfig config)
    : config_(std::move(config)), gossip_rng_(Rng(config_.seed).fork(0x60)) {
  const uint32_t n = agents();
  for (uint32_t i = 0; i < n; ++i) stores_.push_back(std::make_unique<raft::MemoryLogStore>());
  procs_.assign(n, nullptr);
  seen_dead_.assign(n, std::vector<bool>(n, false));
  writers_.assign(n, Writer{});
  published_.assign(n, gossip::NodeMeta{});
  disk_cluster_id_.assign(n, config_.bootstrap_expect == 0 ? "sim" : "");
  resumed_.assign(n, std::nullopt);
  SimConfig sc;
  sc.seed = config_.seed;
  sc.nodes = n;
  sc.tick_interval = Duration::zero();  // the agents arm their own timers
  sc.network = config_.network;
  sim_ = std::make_unique<ClusterSimulator>(
      sc, [this](NodeIndex i) { return std::make_unique<Agent>(*this, i); });
  sim_->set_invariant([this](const ClusterSimulator&) { return violation_; });
}

ClusterHarness::~ClusterHarness() {
  tearing_down_ = true;
  sim_.reset();
}

std::optional<NodeIndex> ClusterHarness::index_of(const raft::NodeId& id) {
  if (id.hi() != 0 || id.lo() == 0) return std::nullopt;
  return static_cast<NodeIndex>(id.lo() - 1);
}

bool ClusterHarness::up(NodeIndex i) const { return procs_[i] != nullptr; }

std::optional<NodeIndex> ClusterHarness::leader() const {
  std::optional<NodeIndex> best;
  uint64_t best_term = 0;
  for (NodeIndex i = 0; i < procs_.size(); ++i) {
    if (!up(i) || !procs_[i]->leads()) continue;
    if (procs_[i]->term() >= best_term) {
      best = i;
      best_term = procs_[i]->term();
    }
  }
  return best;
}

raft::NodeId ClusterHarness::known_leader(NodeIndex i) const {
  return up(i) ? procs_[i]->leader() : raft::NodeId();
}

uint64_t ClusterHarness::applied(NodeIndex i) const { return up(i) ? procs_[i]->applied() : 0; }

const ClusterCounters& ClusterHarness::counters() const {
  counters_.follow_failovers = 0;
  for (const Agent* a : procs_) {
    if (a != nullptr) counters_.follow_failovers += a->failovers();
  }
  return counters_;
}

void ClusterHarness::crash(NodeIndex i) {
  if (!sim_->is_up(i)) return;
  sim_->crash(i);
  stores_[i]->power_cut();
  abandon_write(i);
  // Its connections close: every agent it can reach hears it one trip later.
  for (NodeIndex j = 0; j < agents(); ++j) {
    if (j == i || !sim_->reachable(i, j)) continue;
    sim_->after(config_.network.latency_min,
                [this, i, j, inc = sim_->incarnation(j)](ClusterSimulator&) {
                  close_connection(i, j, inc, true);
                });
    const auto span = static_cast<uint64_t>((config_.detect_max - config_.detect_min).count());
    const auto d =
        config_.detect_min + Duration(static_cast<int64_t>(gossip_rng_.uniform(span + 1)));
    const uint32_t inc = sim_->incarnation(i);
    sim_->after(d, [this, i, j, inc](ClusterSimulator& s) {
      if (s.incarnation(i) == inc && !s.is_up(i)) seen_dead_[j][i] = true;
    });
  }
}

void ClusterHarness::restart(NodeIndex i) {
  if (sim_->is_up(i)) return;
  sim_->restart(i);
  const uint32_t inc = sim_->incarnation(i);
  sim_->after(config_.rejoin_seen_after, [this, i, inc](ClusterSimulator& s) {
    if (s.incarnation(i) != inc || !s.is_up(i)) return;
    for (auto& row : seen_dead_) row[i] = false;
  });
}

std::vector<gossip::Member> ClusterHarness::members_seen_by(NodeIndex viewer) const {
  std::vector<gossip::Member> out;
  for (NodeIndex j = 0; j < agents(); ++j) {
    if (published_[j].name.empty()) continue;  // never booted: gossip has not heard of it
    gossip::Member m;
    m.id = id_of(j);
    m.meta = published_[j];
    m.status = sees_alive(viewer, j) ? gossip::MemberStatus::kAlive : gossip::MemberStatus::kDead;
    out.push_back(std::move(m));
  }
  return out;
}

void ClusterHarness::step_out(NodeIndex i) {
  // Not inside the agent's own callback: at once, as a script.
  const uint32_t inc = sim_->incarnation(i);
  sim_->after(Duration::zero(), [this, i, inc](ClusterSimulator& s) {
    if (s.incarnation(i) != inc || !s.is_up(i)) return;
    ++stepped_out_;
    s.crash(i);
    abandon_write(i);  // the host stops; the process would go on, as the next one does
    retired_stores_.push_back(std::move(stores_[i]));  // raft/ moved aside, never deleted
    stores_[i] = std::make_unique<raft::MemoryLogStore>();
    s.restart(i);
  });
}

void ClusterHarness::abandon_write(NodeIndex i) {
  // The write in the agent's hands dies with it: it may or may not have
  // happened.
  if (!writers_[i].op) return;
  writers_[i].op.reset();
  ++writers_[i].seq;
  ++counters_.writes_unknown;
  sim_->after(100ms, [this, i](ClusterSimulator&) { writer_step(i); });
}

std::map<raft::NodeId, bool> ClusterHarness::registry(NodeIndex i) const {
  return up(i) ? procs_[i]->registry() : std::map<raft::NodeId, bool>{};
}

bool ClusterHarness::has_log(NodeIndex i) const { return up(i) && procs_[i]->has_log(); }

raft::ConfState ClusterHarness::leader_conf() const {
  auto l = leader();
  return l ? procs_[*l]->conf() : raft::ConfState{};
}

bool ClusterHarness::sees_alive(NodeIndex viewer, NodeIndex peer) const {
  return !seen_dead_[viewer][peer];
}

void ClusterHarness::close_connection(NodeIndex from, NodeIndex to, uint32_t to_incarnation,
                                      bool open) {
  if (!sim_->is_up(to) || procs_[to] == nullptr) return;
  ClusterWire w{Kind::kClosed, nullptr, nullptr, open};
  w.to_incarnation = to_incarnation;
  sim_->with_context(to, [&](Context<ClusterWire>& ctx) { procs_[to]->receive(ctx, from, w); });
}

void ClusterHarness::fail(std::string what) {
  if (violation_.is_ok()) violation_ = Status::internal(std::move(what));
}

void ClusterHarness::on_role(NodeIndex i, bool leader, uint64_t term) {
  if (!leader) return;
  auto [it, fresh] = leader_of_term_.emplace(term, i);
  if (!fresh && it->second != i) {
    fail("election safety: agents " + std::to_string(it->second) + " and " + std::to_string(i) +
         " both led term " + std::to_string(term));
    return;
  }
  if (fresh) ++counters_.elections;
  if (fresh && mark_ && !elected_) elected_ = sim_->now();
}

void ClusterHarness::on_applied(NodeIndex i, const Entry& e, TimePoint started, bool observer) {
  const uint64_t idx = e.index.value();
  const auto rec = std::make_pair(e.term.value(), entry_hash(e));
  if (idx <= applied_.size()) {
    if (applied_[idx - 1] != rec) {
      fail("state-machine safety: agent " + std::to_string(i) + " applied a different entry at " +
           std::to_string(idx));
      return;
    }
    // An observer's lag, for entries committed while it was up (one that
    // restarts catches up on the whole log).
    if (observer && first_applied_at_[idx - 1] >= started) {
      observer_lag_.push_back(
          std::chrono::duration<double>(sim_->now() - first_applied_at_[idx - 1]).count());
    }
  } else if (idx == applied_.size() + 1) {
    applied_.push_back(rec);
    check_value_applied(i, e);
    first_applied_at_.push_back(sim_->now());
    if (observer) fail("observer " + std::to_string(i) + " applied an entry no voter had");
  } else {
    fail("agent " + std::to_string(i) + " applied index " + std::to_string(idx) +
         " beyond every applied entry");
  }
}

void ClusterHarness::check_value_applied(NodeIndex i, const Entry& e) {
  if (e.type != raft::EntryType::kNormal) return;
  auto cmd = scheduler::decode_kv_command(e.data);
  if (!cmd.is_ok()) return;  // another kind of entry (the node registry)
  const std::string value(cmd->value.begin(), cmd->value.end());
  if (refused_values_.contains(value)) {
    fail("agent " + std::to_string(i) + " applied " + value + " at " +
         std::to_string(e.index.value()) + ", a write that was answered 503");
  }
  auto [it, fresh] = applied_values_.emplace(value, e.index.value());
  if (!fresh) {
    fail("write " + value + " applied twice, at " + std::to_string(it->second) + " and " +
         std::to_string(e.index.value()));
  }
}

void ClusterHarness::on_restored(NodeIndex i, uint64_t index) {
  if (index > applied_.size()) {
    fail("agent " + std::to_string(i) + " restored a snapshot at " + std::to_string(index) +
         " beyond every applied entry");
  }
}

bool ClusterHarness::converged() const {
  auto l = leader();
  if (!l) return false;
  const uint64_t target = procs_[*l]->applied();
  for (NodeIndex i = 0; i < agents(); ++i) {
    if (up(i) && procs_[i]->applied() != target) return false;
  }
  const std::vector<uint8_t> image = procs_[*l]->image();
  for (NodeIndex i = 0; i < agents(); ++i) {
    if (up(i) && procs_[i]->image() != image) return false;
  }
  return true;
}

void ClusterHarness::record_final_reads() {
  auto l = leader();
  if (!l) return;
  const int64_t now = ns(sim_->now());
  for (uint32_t k = 0; k < config_.keys; ++k) {
    const std::string key = "k" + std::to_string(k);
    const auto op = history_.invoke_get(agents(), key, now);
    history_.complete_get(op, procs_[*l]->kv_get(key), now + 1);
  }
}

// ---- writers ----

void ClusterHarness::start_writers() {
  writers_running_ = true;
  for (NodeIndex i = 0; i < agents(); ++i) {
    sim_->after(std::chrono::milliseconds(1 + i), [this, i](ClusterSimulator&) { writer_step(i); });
  }
}

void ClusterHarness::mark() {
  mark_ = sim_->now();
  elected_.reset();
  resumed_.assign(agents(), std::nullopt);
}

std::optional<double> ClusterHarness::resumed_after(NodeIndex i) const {
  if (!mark_ || !resumed_[i]) return std::nullopt;
  return std::chrono::duration<double>(*resumed_[i] - *mark_).count();
}

std::optional<double> ClusterHarness::elected_after() const {
  if (!mark_ || !elected_) return std::nullopt;
  return std::chrono::duration<double>(*elected_ - *mark_).count();
}

void ClusterHarness::writer_step(NodeIndex i) {
  if (!writers_running_) return;
  Writer& w = writers_[i];
  if (w.op) return;
  if (!up(i)) {
    sim_->after(100ms, [this, i](ClusterSimulator&) { writer_step(i); });
    return;
  }
  Rng rng(config_.seed * 0x9e3779b97f4a7c15ULL + i * 1000003ULL + w.seq);
  const std::string key = "k" + std::to_string(rng.uniform(config_.keys));
  const std::string value = "a" + std::to_string(i) + "-" + std::to_string(++w.values);
  const uint64_t seq = ++w.seq;
  w.op = history_.invoke_put(i, key, value, ns(sim_->now()));
  w.value = value;
  w.submitted = sim_->now();
  sim_->with_context(i, [&](Context<ClusterWire>& ctx) {
    Agent& a = *procs_[i];
    a.act(ctx, [&] { a.submit(seq, key, value); });
  });
}

void ClusterHarness::write_done(NodeIndex i, uint64_t seq, uint32_t status) {
  if (tearing_down_) return;
  Writer& w = writers_[i];
  if (w.seq != seq || !w.op) return;
  const TimePoint now = sim_->now();
  if (status == 200) {
    history_.complete(*w.op, ns(now));
    ++counters_.writes_ok;
    if (mark_ && w.submitted >= *mark_ && !resumed_[i]) resumed_[i] = now;
  } else if (status == 503) {
    if (auto it = applied_values_.find(w.value); it != applied_values_.end()) {
      fail("write " + w.value + " was answered 503 but applied at " + std::to_string(it->second));
    }
    refused_values_.insert(w.value);
    history_.fail(*w.op);
    ++counters_.writes_unavailable;
  } else {
    ++counters_.writes_unknown;  // left open: it may or may not have happened
  }
  w.op.reset();
  if (!writers_running_) return;
  Rng rng(config_.seed ^ (i * 7919ULL + w.seq * 104729ULL));
  const auto think = Duration(static_cast<int64_t>(
      rng.uniform(static_cast<uint64_t>(std::max<int64_t>(config_.writer_think.count(), 1)))));
  sim_->after(think + 1us, [this, i](ClusterSimulator&) { writer_step(i); });
}

}  // namespace shoal::sim::cluster_sim
