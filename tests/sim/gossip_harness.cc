#include "tests/sim/gossip_harness.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "gossip/codec.h"

namespace shoal::sim::gossip_sim {

namespace {

constexpr uint16_t kGossipPort = 7782;
constexpr uint64_t kTickToken = uint64_t{1} << 62;
constexpr uint64_t kStreamToken = uint64_t{2} << 62;
constexpr uint64_t kJoinToken = uint64_t{3} << 62;
constexpr uint64_t kTokenMask = (uint64_t{1} << 62) - 1;
constexpr const char* kMembersKey = "gossip/members";

}  // namespace

void add_stats(gossip::Stats& a, const gossip::Stats& b) {
  a.probes_sent += b.probes_sent;
  a.indirect_probes_sent += b.indirect_probes_sent;
  a.fallback_probes += b.fallback_probes;
  a.acks_received += b.acks_received;
  a.nacks_received += b.nacks_received;
  a.suspicions_raised += b.suspicions_raised;
  a.refutations += b.refutations;
  a.deaths_declared += b.deaths_declared;
  a.packets_received += b.packets_received;
  a.packets_sent += b.packets_sent;
  a.bytes_sent += b.bytes_sent;
  a.decode_errors += b.decode_errors;
  a.push_pulls += b.push_pulls;
  a.flaps += b.flaps;
  a.streams_failed += b.streams_failed;
  a.queries_answered += b.queries_answered;
  a.oversized_dropped += b.oversized_dropped;
}

// ---------------------------------------------------------------- Node

class GossipHarness::Node final : public Process<Wire> {
 public:
  Node(GossipHarness* h, NodeIndex self) : h_(h), self_(self) {}

  ~Node() override {
    if (core_) add_stats(h_->crashed_stats_, core_->stats());
  }

  gossip::Gossip* core() { return core_.get(); }

  void start(Context<Wire>& ctx) override {
    h_->reset_view(self_);
    core_ = std::make_unique<gossip::Gossip>(h_->config_.gossip, id_of(self_), meta_of(self_),
                                             ctx.rng(), ctx.now(), h_->pool_);
    const bool restarted = ctx.incarnation() > 0;
    const bool warm =
        h_->config_.warm && !restarted &&
        self_ < h_->config_.nodes - std::min(h_->config_.late_joiners, h_->config_.nodes);
    if (warm) {
      // Join through an oracle that knows the whole cluster: the join
      // stream is answered at once with the warm list.
      core_->join(ctx.now(), {address_of(0)});
      gossip::Ready ready = core_->take_ready();
      for (const gossip::StreamRequest& s : ready.streams) {
        core_->on_stream_reply(ctx.now(), s.id, h_->warm_frame());
      }
      flush(ctx);
      return;
    }
    if (h_->config_.persist) {
      if (auto bytes = ctx.disk().get(kMembersKey)) {
        auto members = gossip::Gossip::decode_members(std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
        if (members) core_->restore(ctx.now(), *members);
      }
    }
    if (!restarted || h_->config_.rejoin_on_restart) {
      const TimePoint at = restarted ? ctx.now() : h_->join_at_[self_];
      if (at <= ctx.now()) {
        join(ctx);
      } else {
        ctx.set_timer(at - ctx.now(), kJoinToken);
      }
    }
    flush(ctx);
  }

  void receive(Context<Wire>& ctx, NodeIndex from, const Wire& msg) override {
    const TimePoint now = ctx.now();
    if (h_->on_receive) h_->on_receive(from, self_, msg);
    switch (msg.kind) {
      case Wire::kPacket:
        core_->on_packet(now, address_of(from), msg.bytes).ignore();
        break;
      case Wire::kStreamRequest: {
        auto reply = core_->on_stream(now, address_of(from), msg.bytes);
        h_->stream_bytes_ += msg.bytes.size() + (reply.is_ok() ? reply->size() : 0);
        Wire w;
        w.kind = Wire::kStreamReply;
        w.stream_id = msg.stream_id;
        w.ok = reply.is_ok();
        if (reply.is_ok()) w.bytes = std::move(*reply);
        ctx.send_reliable(from, std::move(w));
        break;
      }
      case Wire::kStreamReply: {
        if (streams_.erase(msg.stream_id) == 0) break;  // timed out already
        if (msg.ok) {
          core_->on_stream_reply(now, msg.stream_id, msg.bytes);
        } else {
          core_->on_stream_reply(now, msg.stream_id, Status::unavailable("refused"));
        }
        break;
      }
    }
    flush(ctx);
  }

  void timer(Context<Wire>& ctx, uint64_t token) override {
    const uint64_t kind = token & ~kTokenMask;
    if (kind == kTickToken) {
      if ((token & kTokenMask) == armed_gen_) armed_ = TimePoint::min();
      core_->tick(ctx.now());
    } else if (kind == kStreamToken) {
      const uint64_t id = token & kTokenMask;
      if (streams_.erase(id) != 0) {
        core_->on_stream_reply(ctx.now(), id, Status::unavailable("stream timed out"));
      }
    } else if (kind == kJoinToken) {
      join(ctx);
    }
    flush(ctx);
  }

  // A local action (leave, new metadata) delivered by the harness through
  // Simulator::with_context.
  template <class F>
  void act(F&& f, Context<Wire>& ctx) {
    f(*core_, ctx.now());
    flush(ctx);
  }

 private:
  void join(Context<Wire>& ctx) {
    std::vector<gossip::Address> seeds;
    for (NodeIndex s : h_->config_.seeds) {
      if (s != self_) seeds.push_back(address_of(s));
    }
    if (!seeds.empty()) core_->join(ctx.now(), seeds);
  }

  void flush(Context<Wire>& ctx) {
    const gossip::Stats& st = core_->stats();
    uint64_t raised = st.suspicions_raised - seen_raised_;
    uint64_t declared = st.deaths_declared - seen_declared_;
    seen_raised_ = st.suspicions_raised;
    seen_declared_ = st.deaths_declared;
    gossip::Ready ready = core_->take_ready();
    const TimePoint now = ctx.now();
    if (ready.persist_members && h_->config_.persist) {
      const std::vector<uint8_t> bytes = gossip::Gossip::encode_members(core_->members());
      ctx.disk().put(kMembersKey,
                     std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      ctx.disk().sync();
    }
    for (gossip::Packet& p : ready.packets) {
      h_->largest_packet_ = std::max(h_->largest_packet_, p.payload.size());
      if (p.payload.size() > h_->config_.gossip.max_packet_bytes) ++h_->oversized_packets_;
      const auto to = index_of(p.to);
      if (!to || *to >= ctx.node_count()) continue;  // nobody there
      Wire w;
      w.bytes = std::move(p.payload);
      if (h_->on_send) h_->on_send(self_, *to, w);
      ctx.send(*to, std::move(w));
    }
    for (gossip::StreamRequest& s : ready.streams) {
      const auto to = index_of(s.to);
      if (!to || *to >= ctx.node_count()) {
        pending_failures_.push_back(s.id);
        continue;
      }
      Wire w;
      w.kind = Wire::kStreamRequest;
      w.stream_id = s.id;
      w.bytes = std::move(s.payload);
      ctx.send_reliable(*to, std::move(w));
      streams_.insert(s.id);
      ctx.set_timer(std::max(s.timeout, Duration(1)), kStreamToken | s.id);
    }
    for (const gossip::Event& e : ready.events) h_->record(self_, e, now, raised, declared);
    // Connection refused at once for addresses nobody has.
    while (!pending_failures_.empty()) {
      const uint64_t id = pending_failures_.back();
      pending_failures_.pop_back();
      core_->on_stream_reply(now, id, Status::unavailable("no such address"));
      flush(ctx);
    }
    arm(ctx);
  }

  void arm(Context<Wire>& ctx) {
    const TimePoint d = core_->next_deadline();
    if (d == TimePoint::max()) return;
    const TimePoint now = ctx.now();
    // A timer already armed at or before the deadline will do.
    if (armed_ > now && armed_ <= d) return;
    armed_ = std::max(d, now);
    ++armed_gen_;
    ctx.set_timer(armed_ - now, kTickToken | (armed_gen_ & kTokenMask));
  }

  GossipHarness* h_;
  NodeIndex self_;
  std::unique_ptr<gossip::Gossip> core_;
  std::unordered_set<uint64_t> streams_;
  std::vector<uint64_t> pending_failures_;
  TimePoint armed_ = TimePoint::min();
  uint64_t armed_gen_ = 0;
  uint64_t seen_raised_ = 0;
  uint64_t seen_declared_ = 0;
};

// ---------------------------------------------------------------- harness

GossipHarness::GossipHarness(HarnessConfig config)
    : config_(std::move(config)),
      pool_(std::make_shared<gossip::MetaPool>()),
      view_(static_cast<size_t>(config_.nodes) * config_.nodes,
            static_cast<uint8_t>(Seen::kUnknown)),
      counts_(static_cast<size_t>(config_.nodes) * 5, 0),
      left_(config_.nodes, 0),
      converged_(config_.nodes, -1),
      join_at_(config_.nodes),
      raised_by_(config_.nodes, 0),
      raised_of_(config_.nodes, 0) {
  Rng plan = Rng(config_.seed).fork(0x901);
  for (NodeIndex i = 0; i < config_.nodes; ++i) {
    const bool is_seed =
        std::find(config_.seeds.begin(), config_.seeds.end(), i) != config_.seeds.end();
    const auto spread = static_cast<uint64_t>(std::max<int64_t>(config_.join_spread.count(), 0));
    join_at_[i] = is_seed || spread == 0
                      ? TimePoint{}
                      : TimePoint(Duration(static_cast<int64_t>(plan.uniform(spread + 1))));
  }
  if (config_.warm) {
    const uint32_t late = std::min(config_.late_joiners, config_.nodes);
    for (uint32_t k = 0; k < late; ++k) {
      join_at_[config_.nodes - late + k] =
          TimePoint(config_.late_join_start + config_.late_join_gap * static_cast<int64_t>(k));
    }
  }
  SimConfig sc;
  sc.seed = config_.seed;
  sc.nodes = config_.nodes;
  sc.tick_interval = Duration::zero();  // the cores' own deadlines drive them
  sc.network = config_.network;
  sim_ = std::make_unique<GossipSimulator>(
      sc, [this](NodeIndex i) { return std::make_unique<Node>(this, i); });
}

GossipHarness::~GossipHarness() = default;

NodeId GossipHarness::id_of(NodeIndex i) {
  return NodeId(uint64_t{i} + 1, mix64(i, 0x5ca1ab1e5ca1ab1eULL));
}

std::optional<NodeIndex> GossipHarness::index_of(const NodeId& id) {
  if (id.hi() == 0 || id.hi() > 0xffffffffULL) return std::nullopt;
  const auto i = static_cast<NodeIndex>(id.hi() - 1);
  if (id_of(i) != id) return std::nullopt;
  return i;
}

gossip::Address GossipHarness::address_of(NodeIndex i) {
  return gossip::Address{"10." + std::to_string((i >> 16) & 0xff) + "." +
                             std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff),
                         kGossipPort};
}

std::optional<NodeIndex> GossipHarness::index_of(const gossip::Address& addr) {
  // "10.b.c.d", parsed by hand: this runs for every simulated packet.
  if (addr.port != kGossipPort || addr.ip.size() < 8 || addr.ip.compare(0, 3, "10.") != 0) {
    return std::nullopt;
  }
  uint32_t parts[3] = {0, 0, 0};
  size_t part = 0;
  size_t digits = 0;
  for (size_t i = 3; i < addr.ip.size(); ++i) {
    const char ch = addr.ip[i];
    if (ch == '.') {
      if (digits == 0 || ++part > 2) return std::nullopt;
      digits = 0;
    } else if (ch >= '0' && ch <= '9' && digits < 3) {
      parts[part] = parts[part] * 10 + static_cast<uint32_t>(ch - '0');
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (part != 2 || digits == 0 || parts[0] > 255 || parts[1] > 255 || parts[2] > 255) {
    return std::nullopt;
  }
  return static_cast<NodeIndex>((parts[0] << 16) | (parts[1] << 8) | parts[2]);
}

gossip::NodeMeta GossipHarness::meta_of(NodeIndex i) {
  gossip::NodeMeta m;
  m.name = "node-" + std::to_string(i);
  m.gossip = address_of(i);
  m.rpc_port = 7781;
  m.http_port = 7780;
  m.dns_port = 7753;
  m.attrs = {{"zone", "z" + std::to_string(i % 3)}};
  m.resources = {2000, 4096};
  return m;
}

gossip::Gossip* GossipHarness::core(NodeIndex i) {
  auto* p = static_cast<Node*>(sim_->process(i));
  return p == nullptr ? nullptr : p->core();
}

void GossipHarness::leave(NodeIndex i) {
  left_[i] = 1;
  auto* p = static_cast<Node*>(sim_->process(i));
  if (p == nullptr) return;
  sim_->with_context(i, [p](Context<Wire>& ctx) {
    p->act([](gossip::Gossip& g, TimePoint now) { g.leave(now); }, ctx);
  });
}

void GossipHarness::update_meta(NodeIndex i, gossip::NodeMeta meta) {
  auto* p = static_cast<Node*>(sim_->process(i));
  if (p == nullptr) return;
  sim_->with_context(i, [p, meta = std::move(meta)](Context<Wire>& ctx) mutable {
    p->act([&](gossip::Gossip& g, TimePoint now) { g.update_meta(now, std::move(meta)); }, ctx);
  });
}

void GossipHarness::crash(NodeIndex i) { sim_->crash(i); }

void GossipHarness::restart(NodeIndex i) {
  left_[i] = 0;
  sim_->restart(i);
}

bool GossipHarness::healthy(NodeIndex i) const { return sim_->is_up(i) && left_[i] == 0; }

std::optional<TimePoint> GossipHarness::converged_at(NodeIndex observer) const {
  if (converged_[observer] < 0) return std::nullopt;
  return TimePoint(Duration(converged_[observer]));
}

bool GossipHarness::all_agree(bool allow_suspect) const {
  const uint32_t n = config_.nodes;
  for (NodeIndex o = 0; o < n; ++o) {
    if (!sim_->is_up(o)) continue;
    for (NodeIndex m = 0; m < n; ++m) {
      if (m == o) continue;
      const Seen s = seen(o, m);
      const bool up_view = s == Seen::kAlive || (allow_suspect && s == Seen::kSuspect);
      if (healthy(m) ? !up_view : (s == Seen::kAlive || s == Seen::kSuspect)) return false;
    }
  }
  return true;
}

gossip::Stats GossipHarness::total_stats() const {
  gossip::Stats total = crashed_stats_;
  for (NodeIndex i = 0; i < config_.nodes; ++i) {
    auto* p = static_cast<Node*>(sim_->process(i));
    if (p != nullptr && p->core() != nullptr) add_stats(total, p->core()->stats());
  }
  return total;
}

void GossipHarness::set_seen(NodeIndex observer, NodeIndex member, Seen s) {
  uint8_t& cell = view_[static_cast<size_t>(observer) * config_.nodes + member];
  --counts_[static_cast<size_t>(observer) * 5 + cell];
  cell = static_cast<uint8_t>(s);
  ++counts_[static_cast<size_t>(observer) * 5 + cell];
}

void GossipHarness::reset_view(NodeIndex observer) {
  const uint32_t n = config_.nodes;
  std::fill_n(view_.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(observer) * n), n,
              static_cast<uint8_t>(Seen::kUnknown));
  uint32_t* c = &counts_[static_cast<size_t>(observer) * 5];
  std::fill_n(c, 5, 0u);
  c[static_cast<size_t>(Seen::kUnknown)] = n;  // includes self, never updated
}

const std::vector<uint8_t>& GossipHarness::warm_frame() {
  if (warm_frame_.empty()) {
    const uint32_t warm = config_.nodes - std::min(config_.late_joiners, config_.nodes);
    std::vector<gossip::NodeMeta> metas;
    metas.reserve(warm);
    for (NodeIndex i = 0; i < warm; ++i) metas.push_back(meta_of(i));
    std::vector<gossip::codec::MemberView> views;
    views.reserve(warm);
    for (NodeIndex i = 0; i < warm; ++i) {
      views.push_back(
          gossip::codec::MemberView{id_of(i), 0, gossip::MemberStatus::kAlive, &metas[i]});
    }
    // Sent "from" node 0's id, so the receiver treats everything as learned
    // by push-pull (nothing re-gossiped) -- except node 0's own record.
    warm_frame_ = gossip::codec::encode_push_pull(false, id_of(0), views);
  }
  return warm_frame_;
}

void GossipHarness::record(NodeIndex observer, const gossip::Event& e, TimePoint now,
                           uint64_t& raised, uint64_t& declared) {
  using K = gossip::Event::Kind;
  if (auto m = index_of(e.member.id); m && *m != observer && *m < config_.nodes) {
    switch (e.kind) {
      case K::kJoin:
      case K::kAlive:
        set_seen(observer, *m, Seen::kAlive);
        break;
      case K::kSuspect:
        set_seen(observer, *m, Seen::kSuspect);
        if (healthy(*m)) ++false_suspicions_;
        // One call into a core raises at most one suspicion of its own (a
        // failed probe); it comes out as one of this batch's kSuspect events.
        if (raised > 0) {
          --raised;
          if (healthy(*m)) {
            ++false_suspicions_raised_;
            ++raised_by_[observer];
            ++raised_of_[*m];
          }
        }
        break;
      case K::kDead:
        set_seen(observer, *m, Seen::kDead);
        if (healthy(*m)) ++false_deaths_;
        if (declared > 0) {
          --declared;
          if (healthy(*m)) ++false_deaths_declared_;
        }
        break;
      case K::kLeft:
        set_seen(observer, *m, Seen::kLeft);
        break;
      case K::kReaped:
        set_seen(observer, *m, Seen::kUnknown);
        break;
      default:
        break;
    }
    if (converged_[observer] < 0 && count(observer, Seen::kAlive) + 1 == config_.nodes) {
      converged_[observer] = now.time_since_epoch().count();
    }
  }
  if (on_event) on_event(observer, e, now);
}

}  // namespace shoal::sim::gossip_sim
