// Failure detection: one probe per (health-scaled) probe interval.
//
//   t0                ping the next member of a shuffled round-robin order
//                     (with a suspect member, the suspicion rides first in
//                     the same packet: Lifeguard's buddy system)
//   t0 + timeout      no ack: ask indirect_checks alive members to ping it
//                     for us (they nack when they cannot reach it), and ask
//                     the host for a TCP fallback probe
//   t0 + interval     still no ack (and the fallback answered or gave up):
//                     suspect the member
//
// Lifeguard's local health awareness: every timely ack lowers our score by
// one; a failed probe raises it by the number of nacks we did not get (an
// indirect helper that is healthy always answers, with an ack or a nack, so
// missing nacks mean our own packets are not getting through or not being
// processed in time). The score multiplies our probe interval and timeout.
#include <algorithm>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

namespace {

constexpr size_t kMaxRelays = 1024;  // indirect probes we run for others at once

bool probeable(const MemberRecord& r) {
  return !r.restored && (r.status == MemberStatus::kAlive || r.status == MemberStatus::kSuspect);
}

}  // namespace

TimePoint Gossip::Impl::probe_deadline() const {
  if (leaving_) return kNever;
  if (!probe_.active) return next_probe_at_;
  if (!probe_.indirect_sent) return probe_.timeout_at;
  if (probe_.fallback_pending) return probe_.end_at + cfg_.probe_timeout;
  return probe_.end_at;
}

void Gossip::Impl::probe_tick(TimePoint now) {
  if (leaving_) return;
  if (probe_.active) {
    if (!probe_.indirect_sent && now >= probe_.timeout_at) send_indirect(now);
    // The fallback stream may still answer; give it up to one more probe
    // timeout past the end of the interval (the host reports a stream's
    // timeout as an error, so this bound only matters with a host that
    // never answers).
    if (probe_.active && probe_.indirect_sent && now >= probe_.end_at &&
        (!probe_.fallback_pending || now >= probe_.end_at + cfg_.probe_timeout)) {
      finish_probe(now, false);
    }
  }
  if (!probe_.active && now >= next_probe_at_) start_probe(now);
}

uint32_t Gossip::Impl::next_probe_target() {
  // At most two passes: the rest of this round, then one fresh round.
  for (int pass = 0; pass < 2; ++pass) {
    while (probe_pos_ < probe_order_.size()) {
      const uint32_t s = probe_order_[probe_pos_++];
      if (s == self_slot_ || s >= table_.slots()) continue;
      const MemberRecord& r = table_.at(s);
      if (r.used && probeable(r)) return s;
    }
    // A new round: every member once, in a fresh random order. Rebuilding
    // from the table drops reaped slots and duplicates; O(n) once per n
    // probes.
    probe_order_.clear();
    for (uint32_t s = 0; s < table_.slots(); ++s) {
      if (s != self_slot_ && table_.at(s).used) probe_order_.push_back(s);
    }
    rng_.shuffle(probe_order_.begin(), probe_order_.end());
    probe_pos_ = 0;
  }
  return MemberTable::kNone;
}

void Gossip::Impl::start_probe(TimePoint now) {
  const uint32_t slot = next_probe_target();
  if (slot == MemberTable::kNone) {
    next_probe_at_ = now + cfg_.probe_interval;
    return;
  }
  const MemberRecord& r = table_.at(slot);
  const Duration interval = awareness_.scale(cfg_.probe_interval);
  const Duration timeout = std::min(awareness_.scale(cfg_.probe_timeout), interval);
  probe_ = Probe{};
  probe_.active = true;
  probe_.seq = ++next_seq_;
  probe_.target = r.id;
  probe_.start = now;
  probe_.timeout_at = now + timeout;
  probe_.end_at = now + interval;
  next_probe_at_ = now + interval;
  ++stats_.probes_sent;

  const codec::Bytes ping = codec::encode(codec::Ping{probe_.seq, r.id, self_id_});
  if (cfg_.lifeguard && r.status == MemberStatus::kSuspect) {
    // Buddy system: the suspect hears about its suspicion from the first
    // member that probes it, and can refute before the rumour times out.
    const codec::Bytes buddy = codec::encode(codec::Suspect{r.incarnation, r.id, self_id_});
    send_packet(r.meta->gossip, {&buddy, &ping});
  } else {
    send_packet(r.meta->gossip, {&ping});
  }
}

void Gossip::Impl::send_indirect(TimePoint now) {
  probe_.indirect_sent = true;
  const uint32_t slot = table_.find(probe_.target);
  if (slot == MemberTable::kNone || !probeable(table_.at(slot))) {
    // Gone (dead, left, reaped) while we waited: nothing left to decide.
    probe_.active = false;
    return;
  }
  const MemberRecord& target = table_.at(slot);
  const Address addr = target.meta->gossip;
  // If this tick came late (a busy host), still give the helpers the full
  // indirect window rather than failing the probe on the spot.
  const Duration window = (probe_.end_at - probe_.start) - (probe_.timeout_at - probe_.start);
  probe_.end_at = std::max(probe_.end_at, now + window);
  next_probe_at_ = std::max(next_probe_at_, probe_.end_at);

  const NodeId target_id = target.id;
  const std::vector<uint32_t> helpers =
      sample(static_cast<size_t>(cfg_.indirect_checks), [&](const MemberRecord& r) {
        return r.status == MemberStatus::kAlive && !r.restored && r.id != target_id;
      });
  // Helpers nack at 80% of the remaining window, so the nack can still
  // reach us before the probe ends.
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(probe_.end_at - now);
  const auto nack_after = static_cast<uint32_t>(std::max<int64_t>(1, remaining.count() * 8 / 10));
  const codec::Bytes req = codec::encode(
      codec::IndirectPing{probe_.seq, target_id, addr, self_id_, cfg_.lifeguard, nack_after});
  for (uint32_t h : helpers) send_packet(table_.at(h).meta->gossip, {&req});
  stats_.indirect_probes_sent += helpers.size();
  probe_.expected_nacks = cfg_.lifeguard ? static_cast<int>(helpers.size()) : 0;

  // TCP fallback: reaches a member whose UDP path is broken or lossy.
  const codec::Bytes ping = codec::encode(codec::Ping{probe_.seq, target_id, self_id_});
  open_stream(StreamRequest::Kind::kProbe, addr, ping, probe_.end_at - now, probe_.seq);
  probe_.fallback_pending = true;
  ++stats_.fallback_probes;
}

void Gossip::Impl::finish_probe(TimePoint now, bool success) {
  if (!probe_.active) return;
  probe_.active = false;
  if (success) return;
  if (cfg_.lifeguard) {
    const int delta =
        probe_.expected_nacks > 0 ? std::max(0, probe_.expected_nacks - probe_.nacks) : 1;
    awareness_.apply(delta);
  }
  const uint32_t slot = table_.find(probe_.target);
  if (slot == MemberTable::kNone || !probeable(table_.at(slot))) return;
  const MemberRecord& r = table_.at(slot);
  handle_suspect(now, codec::Suspect{r.incarnation, r.id, self_id_}, Via::kLocal);
}

void Gossip::Impl::on_ack(TimePoint now, const codec::Ack& m) {
  (void)now;
  if (probe_.active && m.seq == probe_.seq && m.source == probe_.target) {
    ++stats_.acks_received;
    // Only a timely direct ack says that we ourselves are healthy.
    if (cfg_.lifeguard && !probe_.indirect_sent) awareness_.apply(-1);
    probe_.active = false;
    return;
  }
  for (auto it = relays_.begin(); it != relays_.end(); ++it) {
    if (it->seq != m.seq || it->target != m.source) continue;
    const codec::Bytes ack = codec::encode(codec::Ack{it->requester_seq, it->target});
    const Address to = it->requester;
    relays_.erase(it);
    send_packet(to, {&ack});
    return;
  }
}

void Gossip::Impl::on_nack(const codec::Nack& m) {
  if (probe_.active && m.seq == probe_.seq) {
    ++probe_.nacks;
    ++stats_.nacks_received;
  }
}

void Gossip::Impl::on_probe_reply(TimePoint now, uint32_t seq, bool last_call,
                                  const Result<std::vector<uint8_t>>& reply) {
  // The reply is a compound: the ack, and the target's own alive record.
  bool acked = false;
  if (reply.is_ok() && !reply->empty()) {
    auto packet = codec::decode_packet(*reply);
    if (!packet) {
      ++stats_.decode_errors;
    } else {
      for (const codec::Message& m : packet->messages) {
        if (const auto* a = std::get_if<codec::AliveIn>(&m)) {
          handle_alive(now, a->incarnation, a->id, MetaArg{nullptr, a->meta}, Via::kGossip);
        } else if (const auto* ack = std::get_if<codec::Ack>(&m)) {
          acked = acked || ack->seq == seq;
        }
      }
    }
  }
  if (last_call || !probe_.active || probe_.seq != seq) return;
  probe_.fallback_pending = false;
  if (acked) {
    ++stats_.acks_received;
    finish_probe(now, true);
    return;
  }
  if (probe_.indirect_sent && now >= probe_.end_at) finish_probe(now, false);
}

void Gossip::Impl::on_ping(TimePoint now, const Address& from, const codec::Ping& m) {
  (void)now;
  // A ping for another id reached us at an address that used to be its:
  // answering would vouch for a member that is not here.
  if (m.target != self_id_) return;
  const codec::Bytes ack = codec::encode(codec::Ack{m.seq, self_id_});
  if (stale_self_news_) {
    // The ping carried a suspicion of an incarnation we already refuted
    // (the buddy system): the prober missed our refutation, so it comes
    // back with the ack.
    stale_self_news_ = false;
    const codec::Bytes alive = self_alive();
    send_packet(from, {&ack, &alive});
    return;
  }
  send_packet(from, {&ack});
}

void Gossip::Impl::on_indirect_ping(TimePoint now, const Address& from,
                                    const codec::IndirectPing& m) {
  if (m.target == self_id_) {
    const codec::Bytes ack = codec::encode(codec::Ack{m.seq, self_id_});
    send_packet(from, {&ack});
    return;
  }
  if (relays_.size() >= kMaxRelays) return;
  Relay relay;
  relay.seq = ++next_seq_;
  relay.requester_seq = m.seq;
  relay.requester = from;
  relay.target = m.target;
  // The requester tells us when its window closes; never wait longer than
  // a few of our own timeouts whatever it says.
  const Duration asked = std::chrono::milliseconds(m.nack_after_ms);
  const Duration cap = cfg_.probe_timeout * 10;
  relay.nack_at = now + (m.nack_after_ms > 0 ? std::min(asked, cap) : cfg_.probe_timeout * 8 / 10);
  relay.nack = m.nack;
  relays_.push_back(relay);
  const codec::Bytes ping = codec::encode(codec::Ping{relay.seq, m.target, self_id_});
  send_packet(m.target_addr, {&ping});
}

void Gossip::Impl::relay_tick(TimePoint now) {
  for (size_t i = 0; i < relays_.size();) {
    if (relays_[i].nack_at > now) {
      ++i;
      continue;
    }
    const Relay r = relays_[i];
    relays_[i] = relays_.back();
    relays_.pop_back();
    if (r.nack) {
      const codec::Bytes nack = codec::encode(codec::Nack{r.requester_seq, self_id_});
      send_packet(r.requester, {&nack});
    }
  }
}

}  // namespace shoal::gossip
