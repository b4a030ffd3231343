// Construction, the public API (forwarding to Impl), timers, views and the
// persisted member list.
#include "gossip/gossip.h"

#include <algorithm>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

Gossip::Impl::Impl(Config config, NodeId self, NodeMeta meta, Rng& rng, TimePoint now,
                   std::shared_ptr<MetaPool> pool)
    : cfg_(std::move(config)),
      self_id_(self),
      rng_(rng),
      pool_(pool ? std::move(pool) : std::make_shared<MetaPool>()),
      awareness_(cfg_.awareness_max_multiplier) {
  SHOAL_CHECK(cfg_.probe_interval > Duration::zero());
  SHOAL_CHECK(cfg_.probe_timeout > Duration::zero());
  SHOAL_CHECK(cfg_.gossip_interval > Duration::zero());
  SHOAL_CHECK(cfg_.push_pull_interval > Duration::zero());
  SHOAL_CHECK(cfg_.reconnect_interval > Duration::zero());
  SHOAL_CHECK(cfg_.join_retry_max > Duration::zero());
  SHOAL_CHECK(cfg_.max_packet_bytes >= 256);
  cfg_.indirect_checks = std::max(0, cfg_.indirect_checks);
  cfg_.gossip_nodes = std::max(1, cfg_.gossip_nodes);
  cfg_.retransmit_mult = std::max(1, cfg_.retransmit_mult);
  cfg_.suspicion_mult = std::max(1, cfg_.suspicion_mult);

  self_slot_ = add_member(self, MemberStatus::kAlive, 0, meta, now);
  sync_self();
  // Announce ourselves: the first members we talk to learn us from the
  // piggybacked alive message even before a push-pull.
  queue_member(self_slot_);

  // Random phases, so a fleet started together does not probe and sync in
  // lockstep.
  next_probe_at_ = now + Duration(static_cast<int64_t>(
                             rng_.uniform(static_cast<uint64_t>(cfg_.probe_interval.count()))));
  next_gossip_at_ = now;
  next_push_pull_at_ = now + Duration(static_cast<int64_t>(rng_.uniform(
                                 static_cast<uint64_t>(cfg_.push_pull_interval.count()))));
  next_reconnect_at_ = now + cfg_.reconnect_interval;
  next_seen_sweep_ = now;
}

void Gossip::Impl::sync_self() {
  const MemberRecord& r = table_.at(self_slot_);
  self_.id = r.id;
  self_.meta = *r.meta;
  self_.incarnation = r.incarnation;
  self_.status = r.status;
  self_.status_since = r.since;
}

Member Gossip::Impl::member_of(uint32_t slot) const {
  const MemberRecord& r = table_.at(slot);
  Member m;
  m.id = r.id;
  m.meta = *r.meta;
  m.incarnation = r.incarnation;
  m.status = r.status;
  m.status_since = r.since;
  return m;
}

std::vector<codec::MemberView> Gossip::Impl::state_views() const {
  std::vector<codec::MemberView> out;
  out.reserve(table_.size());
  for (uint32_t s = 0; s < table_.slots(); ++s) {
    const MemberRecord& r = table_.at(s);
    // Remembered-but-unconfirmed members are our guess, not knowledge: do
    // not tell others they are dead.
    if (!r.used || r.restored) continue;
    out.push_back(codec::MemberView{r.id, r.incarnation, r.status, r.meta.get()});
  }
  return out;
}

void Gossip::Impl::emit(Event::Kind kind, uint32_t slot) {
  ready_.events.push_back(Event{kind, member_of(slot), {}});
}

void Gossip::Impl::emit_self(Event::Kind kind, QueryInfo query) {
  ready_.events.push_back(Event{kind, self_, std::move(query)});
}

void Gossip::Impl::tick(TimePoint now) {
  check_suspicions(now);
  check_last_calls(now);
  probe_tick(now);
  relay_tick(now);
  if (now >= next_gossip_at_ && !queue_.empty()) {
    gossip_round(now);
    next_gossip_at_ = now + cfg_.gossip_interval;
  }
  push_pull_tick(now);
  reconnect_tick(now);
  join_tick(now);
  reap(now);
  query_tick(now);
}

TimePoint Gossip::Impl::next_deadline() const {
  TimePoint t = probe_deadline();
  if (!suspicion_deadlines_.empty()) t = std::min(t, suspicion_deadlines_.begin()->first);
  for (const auto& [id, lc] : last_calls_) t = std::min(t, lc.deadline);
  for (const Relay& r : relays_) t = std::min(t, r.nack_at);
  // An idle queue needs no gossip round; a new broadcast makes the (past)
  // next_gossip_at_ due at once, so fresh news leaves immediately.
  if (!queue_.empty()) t = std::min(t, next_gossip_at_);
  if (!leaving_) {
    t = std::min(t, next_push_pull_at_);
    if (!down_.empty()) t = std::min(t, next_reconnect_at_);
    if (join_.active && join_.in_flight == 0) t = std::min(t, join_.next_at);
  }
  if (!down_.empty()) t = std::min(t, down_.begin()->first + cfg_.reap_timeout);
  t = std::min(t, query_deadline());
  return t;
}

// ---------------------------------------------------------------- Gossip

Gossip::Gossip(Config config, NodeId self, NodeMeta meta, Rng& rng, TimePoint now,
               std::shared_ptr<MetaPool> pool)
    : impl_(std::make_unique<Impl>(std::move(config), self, std::move(meta), rng, now,
                                   std::move(pool))) {}
Gossip::~Gossip() = default;

void Gossip::restore(TimePoint now, const std::vector<Member>& remembered) {
  impl_->restore(now, remembered);
}
void Gossip::join(TimePoint now, const std::vector<Address>& seeds) { impl_->join(now, seeds); }
void Gossip::tick(TimePoint now) { impl_->tick(now); }
TimePoint Gossip::next_deadline() const { return impl_->next_deadline(); }
Status Gossip::on_packet(TimePoint now, const Address& from, std::span<const uint8_t> payload) {
  return impl_->on_packet(now, from, payload);
}
Result<std::vector<uint8_t>> Gossip::on_stream(TimePoint now, const Address& from,
                                               std::span<const uint8_t> request) {
  return impl_->on_stream(now, from, request);
}
void Gossip::on_stream_reply(TimePoint now, uint64_t id, Result<std::vector<uint8_t>> reply) {
  impl_->on_stream_reply(now, id, std::move(reply));
}

void Gossip::leave(TimePoint now) {
  Impl& g = *impl_;
  if (g.leaving_) return;
  g.leaving_ = true;
  MemberRecord& me = g.table_.at(g.self_slot_);
  me.incarnation += 1;
  g.set_status(g.self_slot_, MemberStatus::kLeft, now);
  g.sync_self();
  // Only the goodbye matters now; the host waits for it to drain.
  g.queue_.clear();
  g.queue_member(g.self_slot_);
  g.probe_.active = false;
  g.join_.active = false;
  g.ready_.persist_members = true;
}

void Gossip::update_meta(TimePoint now, NodeMeta meta) {
  (void)now;
  Impl& g = *impl_;
  if (g.leaving_) return;
  MemberRecord& me = g.table_.at(g.self_slot_);
  if (*me.meta == meta) return;
  me.meta = g.intern(std::move(meta));
  me.incarnation += 1;
  g.sync_self();
  g.queue_member(g.self_slot_);
  g.ready_.persist_members = true;
}

uint64_t Gossip::start_query(TimePoint now, std::string name, std::vector<uint8_t> payload,
                             Duration timeout) {
  return impl_->start_query(now, std::move(name), std::move(payload), timeout);
}
void Gossip::respond(TimePoint now, const QueryInfo& query, std::vector<uint8_t> response) {
  impl_->respond(now, query, std::move(response));
}

Ready Gossip::take_ready() {
  Ready out = std::move(impl_->ready_);
  impl_->ready_ = Ready{};
  return out;
}

const Member& Gossip::self() const { return impl_->self_; }

std::vector<Member> Gossip::members() const {
  std::vector<Member> out;
  out.reserve(impl_->table_.size());
  for (uint32_t s = 0; s < impl_->table_.slots(); ++s) {
    if (impl_->table_.at(s).used) out.push_back(impl_->member_of(s));
  }
  std::sort(out.begin(), out.end(), [](const Member& a, const Member& b) { return a.id < b.id; });
  return out;
}

std::optional<Member> Gossip::find(const NodeId& id) const {
  const uint32_t slot = impl_->table_.find(id);
  if (slot == MemberTable::kNone) return std::nullopt;
  return impl_->member_of(slot);
}

size_t Gossip::alive_count() const { return impl_->alive_count(); }
int Gossip::health_score() const { return impl_->awareness_.score(); }
size_t Gossip::broadcasts_pending() const { return impl_->queue_.size(); }
const Stats& Gossip::stats() const { return impl_->stats_; }
const Config& Gossip::config() const { return impl_->cfg_; }

std::vector<uint8_t> Gossip::encode_members(const std::vector<Member>& members) {
  std::vector<codec::MemberView> views;
  views.reserve(members.size());
  for (const Member& m : members) {
    views.push_back(codec::MemberView{m.id, m.incarnation, m.status, &m.meta});
  }
  return codec::encode_member_list(views);
}

Result<std::vector<Member>> Gossip::decode_members(std::span<const uint8_t> bytes) {
  auto states = codec::decode_member_list(bytes);
  if (!states) return states.status();
  std::vector<Member> out;
  out.reserve(states->size());
  for (codec::MemberState& s : *states) {
    Member m;
    m.id = s.id;
    m.incarnation = s.incarnation;
    m.status = s.status;
    m.meta = std::move(s.meta);
    out.push_back(std::move(m));
  }
  return out;
}

Status Gossip::check_meta(const NodeMeta& meta) {
  using namespace codec;
  auto too_long = [](const char* what, size_t max) {
    return Status::invalid_argument(std::string(what) + " is longer than " + std::to_string(max) +
                                    " bytes");
  };
  if (meta.name.size() > kMaxNameBytes) return too_long("name", kMaxNameBytes);
  if (meta.gossip.ip.size() > kMaxIpBytes) return too_long("address", kMaxIpBytes);
  if (meta.attrs.size() > kMaxAttrs) {
    return Status::invalid_argument("more than " + std::to_string(kMaxAttrs) + " attributes");
  }
  for (const auto& [k, v] : meta.attrs) {
    if (k.size() > kMaxAttrKeyBytes) return too_long("attribute name", kMaxAttrKeyBytes);
    if (v.size() > kMaxAttrValueBytes) return too_long("attribute value", kMaxAttrValueBytes);
  }
  if (meta.tags.size() > kMaxTags) {
    return Status::invalid_argument("more than " + std::to_string(kMaxTags) + " tags");
  }
  for (const auto& t : meta.tags) {
    if (t.size() > kMaxTagBytes) return too_long("tag", kMaxTagBytes);
  }
  if (meta.cluster_id.size() > kMaxClusterIdBytes)
    return too_long("cluster id", kMaxClusterIdBytes);
  if (meta.role.size() > kMaxRoleBytes) return too_long("role", kMaxRoleBytes);
  const size_t size = encoded_meta_size(meta);
  if (size > kMaxMetaBytes) {
    return Status::too_large("node metadata encodes to " + std::to_string(size) +
                             " bytes, more than the " + std::to_string(kMaxMetaBytes) +
                             " that fit in a gossip packet");
  }
  return Status::ok();
}

}  // namespace shoal::gossip
