// Gossip::Impl, the state behind gossip.h. Private to gossip/; split by
// concern:
//   gossip.cc          construction, the public API, views, persistence
//   state.cc           the member state machine: alive/suspect/dead/left,
//                      incarnations, refutation, suspicion timers, reaping
//   probe.cc           probing, indirect probes, acks and nacks, fallback
//   dissemination.cc   the broadcast queue, compound packets, gossip rounds,
//                      packet dispatch
//   push_pull.cc       streams: push-pull, join, reconnect, restore
//   query.cc           cluster-wide queries
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gossip/broadcast_queue.h"
#include "gossip/codec.h"
#include "gossip/gossip.h"
#include "gossip/member_table.h"
#include "gossip/suspicion.h"
#include "gossip/timing.h"

namespace shoal::gossip {

inline constexpr TimePoint kNever = TimePoint::max();

// Metadata as a handler receives it: a NodeMeta, or still raw inside a
// decoded frame (built only when the news is new).
struct MetaArg {
  const NodeMeta* value = nullptr;
  codec::RawMeta raw;
  NodeMeta get() const { return value != nullptr ? *value : raw.decode(); }
};

class Gossip::Impl {
 public:
  Impl(Config config, NodeId self, NodeMeta meta, Rng& rng, TimePoint now,
       std::shared_ptr<MetaPool> pool);

  // Where an update came from; decides whether it is gossiped on.
  enum class Via : uint8_t {
    kLocal,         // this node's own decision
    kGossip,        // a UDP packet: re-gossip whatever is news
    kPushPull,      // a periodic push-pull: news about members we knew is
                    // re-gossiped; members new to us get a short tail
    kJoinReply,     // the seed's list when we join: the same, except that
                    // a remembered member confirmed alive is not news
    kPushPullPeer,  // the push-pull partner's own record: re-gossip news
  };

  // ---- gossip.cc ----
  void tick(TimePoint now);
  TimePoint next_deadline() const;
  Member member_of(uint32_t slot) const;
  std::vector<codec::MemberView> state_views() const;
  void emit(Event::Kind kind, uint32_t slot);
  void emit_self(Event::Kind kind, QueryInfo query);
  size_t alive_count() const {
    return table_.count(MemberStatus::kAlive) + table_.count(MemberStatus::kSuspect);
  }
  std::shared_ptr<const NodeMeta> intern(NodeMeta meta) { return pool_->intern(std::move(meta)); }
  void sync_self();

  // ---- state.cc ----
  void handle_alive(TimePoint now, uint64_t incarnation, const NodeId& id, const MetaArg& meta,
                    Via via);
  void handle_suspect(TimePoint now, const codec::Suspect& m, Via via);
  void handle_dead(TimePoint now, const codec::Dead& m, Via via);
  void handle_left(TimePoint now, const codec::Left& m, Via via);
  void refute(TimePoint now, uint64_t seen_incarnation);
  void answer_news_about_self(TimePoint now, uint64_t incarnation);
  void set_status(uint32_t slot, MemberStatus status, TimePoint now);
  uint32_t add_member(const NodeId& id, MemberStatus status, uint64_t incarnation, NodeMeta meta,
                      TimePoint now);
  void start_suspicion(TimePoint now, const NodeId& id, const NodeId& accuser);
  void clear_suspicion(const NodeId& id);
  void check_suspicions(TimePoint now);
  void start_last_call(TimePoint now, uint32_t slot);
  void check_last_calls(TimePoint now);
  // A suspicion, death or departure of ours at an incarnation we already
  // refuted: the sender missed our refutation.
  void note_stale_news_about_us() { stale_self_news_ = true; }
  codec::Bytes self_alive() const;
  void reap(TimePoint now);

  // ---- probe.cc ----
  void probe_tick(TimePoint now);
  void start_probe(TimePoint now);
  uint32_t next_probe_target();
  void send_indirect(TimePoint now);
  void finish_probe(TimePoint now, bool success);
  void relay_tick(TimePoint now);
  void on_ping(TimePoint now, const Address& from, const codec::Ping& m);
  void on_indirect_ping(TimePoint now, const Address& from, const codec::IndirectPing& m);
  void on_ack(TimePoint now, const codec::Ack& m);
  void on_nack(const codec::Nack& m);
  void on_probe_reply(TimePoint now, uint32_t seq, bool last_call,
                      const Result<std::vector<uint8_t>>& reply);
  TimePoint probe_deadline() const;

  // ---- dissemination.cc ----
  void queue_member(uint32_t slot, const NodeId* from = nullptr, uint32_t cut = 0);
  void queue(const BroadcastKey& key, codec::Bytes bytes, uint32_t cut = 0);
  // Sends `primary` parts (all of them, whatever their size) plus as many
  // queued broadcasts as fit, as one compound packet.
  void send_packet(const Address& to, std::initializer_list<const codec::Bytes*> primary);
  void gossip_round(TimePoint now);
  int retransmit_limit() const;
  Status on_packet(TimePoint now, const Address& from, std::span<const uint8_t> payload);
  // Up to k distinct member slots (never self) satisfying `pred`, at random.
  template <class Pred>
  std::vector<uint32_t> sample(size_t k, Pred&& pred);

  // ---- push_pull.cc ----
  Result<std::vector<uint8_t>> on_stream(TimePoint now, const Address& from,
                                         std::span<const uint8_t> request);
  void on_stream_reply(TimePoint now, uint64_t id, Result<std::vector<uint8_t>> reply);
  void merge(TimePoint now, const codec::PushPullIn& pp, Via via);
  Status check_cluster(const codec::PushPullIn& pp) const;
  uint64_t open_stream(StreamRequest::Kind kind, const Address& to, codec::Bytes payload,
                       Duration timeout, uint32_t seq = 0, bool last_call = false);
  void push_pull_tick(TimePoint now);
  void reconnect_tick(TimePoint now);
  void join(TimePoint now, const std::vector<Address>& seeds);
  void join_tick(TimePoint now);
  void restore(TimePoint now, const std::vector<Member>& remembered);
  Duration stream_timeout() const { return cfg_.probe_timeout * 10; }

  // ---- query.cc ----
  uint64_t start_query(TimePoint now, std::string name, std::vector<uint8_t> payload,
                       Duration timeout);
  void respond(TimePoint now, const QueryInfo& query, std::vector<uint8_t> response);
  void on_query(TimePoint now, const codec::Query& m);
  void on_query_response(const codec::QueryResponse& m);
  void query_tick(TimePoint now);
  TimePoint query_deadline() const;

  // ---- state ----
  Config cfg_;
  NodeId self_id_;
  Rng& rng_;
  std::shared_ptr<MetaPool> pool_;
  MemberTable table_;
  uint32_t self_slot_ = MemberTable::kNone;
  Member self_;  // a full copy of our own record, for self()
  bool leaving_ = false;
  timing::Awareness awareness_;
  Stats stats_;
  Ready ready_;

  // Dead and left members by the time they went down: reaping order, and
  // the reconnect candidates.
  std::set<std::pair<TimePoint, NodeId>> down_;

  // Suspicions and their deadlines.
  std::unordered_map<NodeId, Suspicion> suspicions_;
  std::set<std::pair<TimePoint, NodeId>> suspicion_deadlines_;
  // Last calls: suspicions that timed out, given one more probe window in
  // which the suspect can still be heard (Lifeguard mode only).
  struct LastCall {
    TimePoint deadline{};
    uint64_t incarnation = 0;
  };
  std::unordered_map<NodeId, LastCall> last_calls_;
  bool stale_self_news_ = false;

  // Probing: a shuffled round-robin order of member slots.
  std::vector<uint32_t> probe_order_;
  size_t probe_pos_ = 0;
  uint32_t next_seq_ = 0;
  struct Probe {
    bool active = false;
    uint32_t seq = 0;
    NodeId target;
    TimePoint start{};
    TimePoint timeout_at{};
    TimePoint end_at{};
    bool indirect_sent = false;
    int expected_nacks = 0;
    int nacks = 0;
    bool fallback_pending = false;
  } probe_;
  TimePoint next_probe_at_{};
  // Indirect probes we run for others: our ping's seq -> the requester.
  struct Relay {
    uint32_t seq = 0;
    uint32_t requester_seq = 0;
    Address requester;
    NodeId target;
    TimePoint nack_at{};
    bool nack = false;
  };
  std::vector<Relay> relays_;

  // Dissemination.
  BroadcastQueue queue_;
  TimePoint next_gossip_at_{};

  // Streams we opened and wait for.
  struct PendingStream {
    StreamRequest::Kind kind;
    uint32_t seq = 0;         // kProbe: the probe's seq
    uint64_t join_round = 0;  // kJoin: which round of attempts
    bool last_call = false;   // kProbe: a last call, not a regular probe
  };
  uint64_t next_stream_id_ = 1;
  std::unordered_map<uint64_t, PendingStream> streams_;
  TimePoint next_push_pull_at_{};
  TimePoint next_reconnect_at_{};
  int lonely_reconnects_ = 0;

  struct Join {
    bool active = false;
    std::vector<Address> seeds;
    int attempt = 0;
    uint64_t round = 0;
    int in_flight = 0;
    TimePoint next_at{};
  } join_;

  // Queries we started (by id) and queries we have seen (by origin, id).
  struct PendingQuery {
    TimePoint deadline{};
    std::set<NodeId> responders;
  };
  std::map<uint64_t, PendingQuery> pending_queries_;
  struct SeenQuery {
    TimePoint expires{};
    Address origin_addr;
  };
  std::map<std::pair<NodeId, uint64_t>, SeenQuery> seen_queries_;
  TimePoint next_seen_sweep_{};
};

template <class Pred>
std::vector<uint32_t> Gossip::Impl::sample(size_t k, Pred&& pred) {
  std::vector<uint32_t> out;
  const uint32_t slots = table_.slots();
  if (k == 0 || slots == 0) return out;
  auto eligible = [&](uint32_t s) {
    const MemberRecord& r = table_.at(s);
    return r.used && s != self_slot_ && pred(r);
  };
  auto taken = [&](uint32_t s) { return std::find(out.begin(), out.end(), s) != out.end(); };
  // Random draws first: O(k) when most members qualify, which is the
  // common case; a full scan only when few do.
  if (table_.size() > 4 * k + 16) {
    for (size_t tries = 0; tries < 8 * k + 32 && out.size() < k; ++tries) {
      const auto s = static_cast<uint32_t>(rng_.uniform(slots));
      if (eligible(s) && !taken(s)) out.push_back(s);
    }
    if (out.size() == k) return out;
  }
  std::vector<uint32_t> all;
  for (uint32_t s = 0; s < slots; ++s) {
    if (eligible(s) && !taken(s)) all.push_back(s);
  }
  // Partial Fisher-Yates: the first (k - have) of a random permutation.
  for (size_t i = 0; i < all.size() && out.size() < k; ++i) {
    const size_t j = i + static_cast<size_t>(rng_.uniform(all.size() - i));
    std::swap(all[i], all[j]);
    out.push_back(all[i]);
  }
  return out;
}

}  // namespace shoal::gossip
