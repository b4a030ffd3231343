// Cluster-wide queries (Serf's "queries"): the origin queues the query like
// any update, every member that hears it for the first time re-gossips it
// and raises a kQuery event; the host answers with respond(), which sends the
// response straight to the origin over UDP. The origin raises one
// kQueryResponse per responder and kQueryDone at the deadline. The origin
// answers its own query too, so "every member" includes it.
#include <algorithm>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

namespace {

constexpr size_t kMaxSeenQueries = 4096;
constexpr Duration kSeenSweepInterval = std::chrono::seconds(10);

}  // namespace

uint64_t Gossip::Impl::start_query(TimePoint now, std::string name, std::vector<uint8_t> payload,
                                   Duration timeout) {
  // Random ids: a restarted origin must not reuse ids that members still
  // remember as seen.
  const uint64_t id = rng_.next_u64() & ~BroadcastKey::kQueryBit;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  const auto timeout_ms = static_cast<uint32_t>(std::clamp<int64_t>(ms, 1, 0xffffffff));
  codec::Query q{id, self_id_, table_.at(self_slot_).meta->gossip, name, payload, timeout_ms};
  pending_queries_[id] = PendingQuery{now + timeout, {}};
  seen_queries_[{self_id_, id}] = SeenQuery{now + timeout, q.origin_addr};
  queue(BroadcastKey{self_id_, id | BroadcastKey::kQueryBit}, codec::encode(q));
  QueryInfo info;
  info.id = id;
  info.origin = self_id_;
  info.name = std::move(name);
  info.payload = std::move(payload);
  emit_self(Event::Kind::kQuery, std::move(info));
  return id;
}

void Gossip::Impl::on_query(TimePoint now, const codec::Query& m) {
  if (m.origin == self_id_) return;
  const std::pair<NodeId, uint64_t> key{m.origin, m.id};
  if (seen_queries_.count(key) != 0) return;
  if (seen_queries_.size() >= kMaxSeenQueries) {
    next_seen_sweep_ = now;
    query_tick(now);
    if (seen_queries_.size() >= kMaxSeenQueries) return;
  }
  seen_queries_[key] = SeenQuery{now + std::chrono::milliseconds(m.timeout_ms), m.origin_addr};
  queue(BroadcastKey{m.origin, m.id | BroadcastKey::kQueryBit}, codec::encode(m));
  QueryInfo info;
  info.id = m.id;
  info.origin = m.origin;
  info.name = m.name;
  info.payload = m.payload;
  emit_self(Event::Kind::kQuery, std::move(info));
}

void Gossip::Impl::respond(TimePoint now, const QueryInfo& query, std::vector<uint8_t> response) {
  (void)now;
  if (query.origin == self_id_) {
    ++stats_.queries_answered;
    on_query_response(codec::QueryResponse{query.id, self_id_, self_id_, std::move(response)});
    return;
  }
  Address to;
  if (auto it = seen_queries_.find({query.origin, query.id}); it != seen_queries_.end()) {
    to = it->second.origin_addr;
  } else if (const uint32_t slot = table_.find(query.origin); slot != MemberTable::kNone) {
    to = table_.at(slot).meta->gossip;
  }
  if (to.empty()) return;
  const codec::Bytes bytes =
      codec::encode(codec::QueryResponse{query.id, query.origin, self_id_, std::move(response)});
  if (bytes.size() + 8 > cfg_.max_packet_bytes) {
    ++stats_.oversized_dropped;
    return;
  }
  ++stats_.queries_answered;
  send_packet(to, {&bytes});
}

void Gossip::Impl::on_query_response(const codec::QueryResponse& m) {
  if (m.origin != self_id_) return;
  auto it = pending_queries_.find(m.id);
  if (it == pending_queries_.end()) return;                       // unknown or past its deadline
  if (!it->second.responders.insert(m.responder).second) return;  // duplicate
  QueryInfo info;
  info.id = m.id;
  info.origin = self_id_;
  info.responder = m.responder;
  info.response = m.payload;
  emit_self(Event::Kind::kQueryResponse, std::move(info));
}

void Gossip::Impl::query_tick(TimePoint now) {
  for (auto it = pending_queries_.begin(); it != pending_queries_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    QueryInfo info;
    info.id = it->first;
    info.origin = self_id_;
    it = pending_queries_.erase(it);
    emit_self(Event::Kind::kQueryDone, std::move(info));
  }
  if (now >= next_seen_sweep_) {
    next_seen_sweep_ = now + kSeenSweepInterval;
    for (auto it = seen_queries_.begin(); it != seen_queries_.end();) {
      it = it->second.expires <= now ? seen_queries_.erase(it) : std::next(it);
    }
  }
}

TimePoint Gossip::Impl::query_deadline() const {
  TimePoint t = kNever;
  for (const auto& [id, q] : pending_queries_) t = std::min(t, q.deadline);
  return t;
}

}  // namespace shoal::gossip
