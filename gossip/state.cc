// The member state machine. One rule orders all news about a member: a
// higher incarnation always wins; at equal incarnations
//   alive < suspect < dead < left,
// except that suspect only applies to a member we think is alive or suspect
// (a suspicion never resurrects the dead), and alive never wins a tie. So a
// stale update is ignored, a dead member comes back only by raising its
// incarnation, and "left" is final until the member rejoins with a higher
// incarnation.
//
// News about ourselves is never applied: a suspicion, death or departure
// claimed at our incarnation or above is refuted by raising our incarnation
// past it and gossiping alive (unless we are leaving).
#include <algorithm>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

namespace {

bool is_down(MemberStatus s) { return s == MemberStatus::kDead || s == MemberStatus::kLeft; }

}  // namespace

uint32_t Gossip::Impl::add_member(const NodeId& id, MemberStatus status, uint64_t incarnation,
                                  NodeMeta meta, TimePoint now) {
  const uint32_t slot = table_.add(id, status);
  MemberRecord& r = table_.at(slot);
  r.meta = intern(std::move(meta));
  r.incarnation = incarnation;
  r.since = now;
  if (is_down(status) && slot != self_slot_ && self_slot_ != MemberTable::kNone) {
    down_.emplace(now, id);
  }
  // New members join the probe order at a random place in the part of the
  // round still to come, so they are probed within the current round.
  if (self_slot_ != MemberTable::kNone) {
    probe_order_.push_back(slot);
    if (probe_order_.size() > probe_pos_ + 1) {
      const size_t span = probe_order_.size() - probe_pos_;
      const size_t j = probe_pos_ + static_cast<size_t>(rng_.uniform(span));
      std::swap(probe_order_[j], probe_order_.back());
    }
  }
  return slot;
}

void Gossip::Impl::set_status(uint32_t slot, MemberStatus status, TimePoint now) {
  MemberRecord& r = table_.at(slot);
  if (r.status == status) return;
  if (slot != self_slot_) {
    if (is_down(r.status)) down_.erase({r.since, r.id});
    if (is_down(status)) down_.emplace(now, r.id);
  }
  table_.set_status(slot, status);
  r.since = now;
}

void Gossip::Impl::refute(TimePoint now, uint64_t seen_incarnation) {
  (void)now;
  MemberRecord& me = table_.at(self_slot_);
  me.incarnation = std::max(me.incarnation, seen_incarnation) + 1;
  sync_self();
  // Lifeguard: having to refute means others could not hear from us in
  // time; we may be the slow one, so probe more patiently.
  if (cfg_.lifeguard) awareness_.apply(1);
  ++stats_.refutations;
  queue_member(self_slot_);
  ready_.persist_members = true;
}

void Gossip::Impl::handle_alive(TimePoint now, uint64_t incarnation, const NodeId& id,
                                const MetaArg& meta, Via via) {
  if (id == self_id_) {
    if (leaving_) return;
    const MemberRecord& me = table_.at(self_slot_);
    // Someone believes in a newer (or different) version of us: an earlier
    // life, or a conflicting node. Ours must win.
    if (incarnation > me.incarnation || (incarnation == me.incarnation && meta.get() != *me.meta)) {
      refute(now, incarnation);
    }
    return;
  }
  uint32_t slot = table_.find(id);
  if (slot == MemberTable::kNone) {
    // Bound memory against a flood of invented members.
    if (table_.size() >= codec::kMaxMembers) return;
    slot = add_member(id, MemberStatus::kAlive, incarnation, meta.get(), now);
    emit(Event::Kind::kJoin, slot);
    ready_.persist_members = true;
    // A member first heard of in a push-pull (a join reply or a periodic
    // sync) is usually old news to everyone else, but in a rolling start it
    // is news to many. It gets a short tail of retransmit_mult copies
    // instead of the full retransmit_mult * log10(n) budget: a lone joiner
    // costs the cluster little, a join storm still converges in seconds.
    if (via == Via::kPushPull || via == Via::kJoinReply) {
      const int limit = retransmit_limit();
      queue_member(slot, nullptr, static_cast<uint32_t>(std::max(0, limit - cfg_.retransmit_mult)));
    } else {
      queue_member(slot);
    }
    return;
  }
  MemberRecord& r = table_.at(slot);
  const bool accept = incarnation > r.incarnation || (r.restored && incarnation >= r.incarnation);
  if (!accept) return;
  const MemberStatus prev = r.status;
  const bool was_restored = r.restored;
  NodeMeta fresh = meta.get();
  const bool meta_changed = *r.meta != fresh;
  if (meta_changed) r.meta = intern(std::move(fresh));
  r.incarnation = incarnation;
  r.restored = false;
  set_status(slot, MemberStatus::kAlive, now);
  clear_suspicion(id);
  if (is_down(prev)) {
    if (prev == MemberStatus::kDead && !was_restored) ++stats_.flaps;
    emit(Event::Kind::kJoin, slot);
    ready_.persist_members = true;
  } else {
    if (prev == MemberStatus::kSuspect) emit(Event::Kind::kAlive, slot);
    if (meta_changed) emit(Event::Kind::kUpdate, slot);
  }
  if (meta_changed) ready_.persist_members = true;
  // A remembered member confirmed by a push-pull is nothing new to anyone.
  if (!(was_restored && (via == Via::kPushPull || via == Via::kJoinReply))) queue_member(slot);
}

// Someone says we are suspect, dead or gone: refute with a higher
// incarnation, unless we are leaving or already refuted that news.
void Gossip::Impl::answer_news_about_self(TimePoint now, uint64_t incarnation) {
  if (leaving_) return;
  if (incarnation < table_.at(self_slot_).incarnation) {
    note_stale_news_about_us();
    return;
  }
  refute(now, incarnation);
}

void Gossip::Impl::handle_suspect(TimePoint now, const codec::Suspect& m, Via via) {
  (void)via;
  if (m.id == self_id_) return answer_news_about_self(now, m.incarnation);
  const uint32_t slot = table_.find(m.id);
  if (slot == MemberTable::kNone) return;
  MemberRecord& r = table_.at(slot);
  if (m.incarnation < r.incarnation || is_down(r.status)) return;
  if (r.status == MemberStatus::kSuspect && m.incarnation == r.incarnation) {
    // The same suspicion from another member. Lifeguard: an independent
    // confirmation shortens the timeout; only a new one is worth passing on.
    auto it = suspicions_.find(m.id);
    if (it == suspicions_.end()) return;
    const TimePoint before = it->second.deadline();
    if (!it->second.confirm(m.from)) return;
    suspicion_deadlines_.erase({before, m.id});
    suspicion_deadlines_.emplace(it->second.deadline(), m.id);
    queue(BroadcastKey{m.id, 0}, codec::encode(m));
    return;
  }
  const bool was_alive = r.status == MemberStatus::kAlive;
  r.incarnation = m.incarnation;
  set_status(slot, MemberStatus::kSuspect, now);
  start_suspicion(now, m.id, m.from);
  if (m.from == self_id_) ++stats_.suspicions_raised;
  if (was_alive) emit(Event::Kind::kSuspect, slot);
  queue(BroadcastKey{m.id, 0}, codec::encode(m));
}

void Gossip::Impl::handle_dead(TimePoint now, const codec::Dead& m, Via via) {
  (void)via;
  if (m.id == self_id_) return answer_news_about_self(now, m.incarnation);
  const uint32_t slot = table_.find(m.id);
  if (slot == MemberTable::kNone) return;
  MemberRecord& r = table_.at(slot);
  if (m.incarnation < r.incarnation) return;
  if (r.status == MemberStatus::kDead) return;
  if (r.status == MemberStatus::kLeft && m.incarnation <= r.incarnation) return;
  r.incarnation = m.incarnation;
  r.restored = false;
  clear_suspicion(m.id);
  set_status(slot, MemberStatus::kDead, now);
  emit(Event::Kind::kDead, slot);
  ready_.persist_members = true;
  queue(BroadcastKey{m.id, 0}, codec::encode(m));
}

void Gossip::Impl::handle_left(TimePoint now, const codec::Left& m, Via via) {
  (void)via;
  if (m.id == self_id_) return answer_news_about_self(now, m.incarnation);
  const uint32_t slot = table_.find(m.id);
  if (slot == MemberTable::kNone) return;
  MemberRecord& r = table_.at(slot);
  if (m.incarnation < r.incarnation) return;
  if (r.status == MemberStatus::kLeft) {
    // Already gone (perhaps only remembered as gone): now we know.
    r.incarnation = m.incarnation;
    r.restored = false;
    return;
  }
  r.incarnation = m.incarnation;
  r.restored = false;
  clear_suspicion(m.id);
  set_status(slot, MemberStatus::kLeft, now);
  emit(Event::Kind::kLeft, slot);
  ready_.persist_members = true;
  queue(BroadcastKey{m.id, 0}, codec::encode(m));
}

void Gossip::Impl::start_suspicion(TimePoint now, const NodeId& id, const NodeId& accuser) {
  clear_suspicion(id);
  const size_t n = alive_count();
  const Duration min = timing::suspicion_min(cfg_.suspicion_mult, n, cfg_.probe_interval);
  // Plain SWIM: one fixed timeout, no confirmations.
  const Duration max =
      cfg_.lifeguard ? timing::suspicion_max(cfg_.suspicion_max_timeout_mult, min) : min;
  const int expected = cfg_.lifeguard ? timing::suspicion_expected(cfg_.suspicion_mult, n) : 0;
  auto [it, inserted] = suspicions_.emplace(id, Suspicion(now, accuser, expected, min, max));
  (void)inserted;
  suspicion_deadlines_.emplace(it->second.deadline(), id);
}

void Gossip::Impl::clear_suspicion(const NodeId& id) {
  last_calls_.erase(id);
  auto it = suspicions_.find(id);
  if (it == suspicions_.end()) return;
  suspicion_deadlines_.erase({it->second.deadline(), id});
  suspicions_.erase(it);
}

void Gossip::Impl::check_suspicions(TimePoint now) {
  while (!suspicion_deadlines_.empty() && suspicion_deadlines_.begin()->first <= now) {
    const NodeId id = suspicion_deadlines_.begin()->second;
    clear_suspicion(id);
    const uint32_t slot = table_.find(id);
    if (slot == MemberTable::kNone) continue;
    const MemberRecord& r = table_.at(slot);
    if (r.status != MemberStatus::kSuspect) continue;
    if (cfg_.lifeguard) {
      start_last_call(now, slot);
      continue;
    }
    ++stats_.deaths_declared;
    handle_dead(now, codec::Dead{r.incarnation, id, self_id_}, Via::kLocal);
  }
}

// A suspicion that ran out is not yet a death: gossip is probabilistic, and
// a member that missed the suspect's refutation would declare a live node
// dead. Before that, one last call reaches the suspect directly -- a ping
// carrying the suspicion (answered with the suspect's current alive record
// if it refuted already) and a TCP probe (reliable against loss; its reply
// carries the alive record too). Whatever arrives within one
// (health-scaled) probe interval can still clear the suspicion; otherwise
// the member is declared dead.
void Gossip::Impl::start_last_call(TimePoint now, uint32_t slot) {
  const MemberRecord& r = table_.at(slot);
  const Duration window = awareness_.scale(cfg_.probe_interval);
  last_calls_[r.id] = LastCall{now + window, r.incarnation};
  const uint32_t seq = ++next_seq_;
  const codec::Bytes buddy = codec::encode(codec::Suspect{r.incarnation, r.id, self_id_});
  const codec::Bytes ping = codec::encode(codec::Ping{seq, r.id, self_id_});
  send_packet(r.meta->gossip, {&buddy, &ping});
  open_stream(StreamRequest::Kind::kProbe, r.meta->gossip, ping, window, seq, /*last_call=*/true);
}

void Gossip::Impl::check_last_calls(TimePoint now) {
  for (auto it = last_calls_.begin(); it != last_calls_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    const NodeId id = it->first;
    const uint64_t inc = it->second.incarnation;
    it = last_calls_.erase(it);
    const uint32_t slot = table_.find(id);
    if (slot == MemberTable::kNone) continue;
    const MemberRecord& r = table_.at(slot);
    if (r.status != MemberStatus::kSuspect || r.incarnation != inc) continue;
    ++stats_.deaths_declared;
    handle_dead(now, codec::Dead{inc, id, self_id_}, Via::kLocal);
    // Only this member's (already erased) entry can have been touched, but
    // start over rather than rely on it; last calls are few.
    it = last_calls_.begin();
  }
}

void Gossip::Impl::reap(TimePoint now) {
  while (!down_.empty() && down_.begin()->first + cfg_.reap_timeout <= now) {
    const NodeId id = down_.begin()->second;
    down_.erase(down_.begin());
    const uint32_t slot = table_.find(id);
    if (slot == MemberTable::kNone) continue;
    emit(Event::Kind::kReaped, slot);
    queue_.erase(BroadcastKey{id, 0});
    table_.remove(slot);
    ready_.persist_members = true;
  }
}

}  // namespace shoal::gossip
