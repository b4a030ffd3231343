// Dissemination: every update is queued once (replacing older news about the
// same member) and piggybacked on outgoing packets -- probes, acks, nacks,
// indirect probes -- and on gossip rounds to gossip_nodes random members
// every gossip_interval, until it has been sent retransmit_limit times.
// Packets are compound envelopes of at most max_packet_bytes.
#include <type_traits>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

int Gossip::Impl::retransmit_limit() const {
  return timing::retransmit_limit(cfg_.retransmit_mult, alive_count());
}

void Gossip::Impl::queue(const BroadcastKey& key, codec::Bytes bytes, uint32_t cut) {
  // One part must fit in an otherwise empty packet (compound header: at
  // most 8 bytes); anything bigger could never leave and would only block
  // the queue. It still spreads through push-pull.
  if (bytes.size() + 8 > cfg_.max_packet_bytes) {
    ++stats_.oversized_dropped;
    queue_.erase(key);
    return;
  }
  queue_.push(key, std::move(bytes), cut);
}

void Gossip::Impl::queue_member(uint32_t slot, const NodeId* from, uint32_t cut) {
  const MemberRecord& r = table_.at(slot);
  const NodeId accuser = from != nullptr ? *from : self_id_;
  codec::Bytes bytes;
  switch (r.status) {
    case MemberStatus::kAlive:
      bytes = codec::encode_alive(r.incarnation, r.id, *r.meta);
      break;
    case MemberStatus::kSuspect:
      bytes = codec::encode(codec::Suspect{r.incarnation, r.id, accuser});
      break;
    case MemberStatus::kDead:
      bytes = codec::encode(codec::Dead{r.incarnation, r.id, accuser});
      break;
    case MemberStatus::kLeft:
      bytes = codec::encode(codec::Left{r.incarnation, r.id});
      break;
  }
  queue(BroadcastKey{r.id, 0}, std::move(bytes), cut);
}

void Gossip::Impl::send_packet(const Address& to,
                               std::initializer_list<const codec::Bytes*> primary) {
  codec::PacketBuilder b(cfg_.max_packet_bytes);
  for (const codec::Bytes* p : primary) b.force(*p);
  if (!queue_.empty()) {
    queue_.fill(retransmit_limit(), [&](std::span<const uint8_t> part) { return b.add(part); });
  }
  Packet packet{to, b.finish()};
  ++stats_.packets_sent;
  stats_.bytes_sent += packet.payload.size();
  ready_.packets.push_back(std::move(packet));
}

void Gossip::Impl::gossip_round(TimePoint now) {
  // Alive and suspect members, plus recently dead or departed ones: they may
  // only be cut off for a moment, and hearing their own obituary lets them
  // refute it.
  const std::vector<uint32_t> targets =
      sample(static_cast<size_t>(cfg_.gossip_nodes), [&](const MemberRecord& r) {
        if (r.restored) return false;
        if (r.status == MemberStatus::kAlive || r.status == MemberStatus::kSuspect) return true;
        return now - r.since <= cfg_.gossip_to_the_dead;
      });
  const int limit = retransmit_limit();
  for (uint32_t t : targets) {
    if (queue_.empty()) break;
    codec::PacketBuilder b(cfg_.max_packet_bytes);
    queue_.fill(limit, [&](std::span<const uint8_t> part) { return b.add(part); });
    if (b.empty()) break;
    Packet packet{table_.at(t).meta->gossip, b.finish()};
    ++stats_.packets_sent;
    stats_.bytes_sent += packet.payload.size();
    ready_.packets.push_back(std::move(packet));
  }
}

Status Gossip::Impl::on_packet(TimePoint now, const Address& from,
                               std::span<const uint8_t> payload) {
  ++stats_.packets_received;
  // Decode every part before applying any: a packet with one bad part
  // changes nothing.
  auto msgs = codec::decode_packet(payload);
  if (!msgs) {
    ++stats_.decode_errors;
    if (msgs.status().code() == StatusCode::kDecode) return msgs.status();
    return Status::decode(msgs.status().message());
  }
  stale_self_news_ = false;
  for (codec::Message& msg : msgs->messages) {
    std::visit(
        [&](auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, codec::Ping>) {
            on_ping(now, from, m);
          } else if constexpr (std::is_same_v<T, codec::IndirectPing>) {
            on_indirect_ping(now, from, m);
          } else if constexpr (std::is_same_v<T, codec::Ack>) {
            on_ack(now, m);
          } else if constexpr (std::is_same_v<T, codec::Nack>) {
            on_nack(m);
          } else if constexpr (std::is_same_v<T, codec::AliveIn>) {
            handle_alive(now, m.incarnation, m.id, MetaArg{nullptr, m.meta}, Via::kGossip);
          } else if constexpr (std::is_same_v<T, codec::Suspect>) {
            handle_suspect(now, m, Via::kGossip);
          } else if constexpr (std::is_same_v<T, codec::Dead>) {
            handle_dead(now, m, Via::kGossip);
          } else if constexpr (std::is_same_v<T, codec::Left>) {
            handle_left(now, m, Via::kGossip);
          } else if constexpr (std::is_same_v<T, codec::Query>) {
            on_query(now, m);
          } else if constexpr (std::is_same_v<T, codec::QueryResponse>) {
            on_query_response(m);
          }
        },
        msg);
  }
  if (stale_self_news_) {
    // Someone still spreads a suspicion or death of ours that we already
    // refuted: tell it directly.
    stale_self_news_ = false;
    const codec::Bytes alive = self_alive();
    send_packet(from, {&alive});
  }
  return Status::ok();
}

codec::Bytes Gossip::Impl::self_alive() const {
  const MemberRecord& me = table_.at(self_slot_);
  return codec::encode_alive(me.incarnation, me.id, *me.meta);
}

}  // namespace shoal::gossip
