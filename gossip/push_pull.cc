// Streams: periodic push-pull with a random member (anti-entropy), join
// through seed addresses with exponential backoff, reconnect attempts to
// dead and left members (so the halves of a long partition find each other
// again), restore from a persisted member list, and the TCP fallback probe's
// server side.
//
// Merging a remote list follows the state machine with one twist borrowed
// from memberlist: a remote "dead" becomes a local suspicion (attributed to
// the partner), never an instant death, so that a member whose death was
// only seen from the other side of a partition gets to refute it.
#include <algorithm>

#include "gossip/gossip_impl.h"

namespace shoal::gossip {

uint64_t Gossip::Impl::open_stream(StreamRequest::Kind kind, const Address& to,
                                   codec::Bytes payload, Duration timeout, uint32_t seq,
                                   bool last_call) {
  const uint64_t id = next_stream_id_++;
  streams_.emplace(id, PendingStream{kind, seq, join_.round, last_call});
  StreamRequest req;
  req.id = id;
  req.kind = kind;
  req.to = to;
  req.payload = std::move(payload);
  req.timeout = timeout;
  ready_.streams.push_back(std::move(req));
  return id;
}

Result<std::vector<uint8_t>> Gossip::Impl::on_stream(TimePoint now, const Address& from,
                                                     std::span<const uint8_t> request) {
  (void)from;
  auto req = codec::decode_stream_request(request);
  if (!req) {
    ++stats_.decode_errors;
    if (req.status().code() == StatusCode::kDecode) return req.status();
    return Status::decode(req.status().message());
  }
  if (auto* ping = std::get_if<codec::Ping>(&*req)) {
    if (ping->target != self_id_) return std::vector<uint8_t>{};
    // The ack, and our own alive record: a prober that still suspects us
    // (it missed our refutation) catches up from the reply.
    codec::PacketBuilder b(cfg_.max_packet_bytes);
    b.force(codec::encode(codec::Ack{ping->seq, self_id_}));
    b.add(self_alive());
    return b.finish();
  }
  auto& pp = std::get<codec::PushPullIn>(*req);
  SHOAL_RETURN_IF_ERROR(check_cluster(pp));
  // Our state as it was before theirs is merged: they learn what we knew.
  std::vector<uint8_t> reply = codec::encode_push_pull(false, self_id_, state_views());
  ++stats_.push_pulls;
  merge(now, pp, Via::kPushPull);
  return reply;
}

Status Gossip::Impl::check_cluster(const codec::PushPullIn& pp) const {
  // Agents with different cluster ids never merge (DESIGN.md section 2). An
  // empty id (not bootstrapped yet) is compatible with any.
  const std::string& ours = table_.at(self_slot_).meta->cluster_id;
  if (ours.empty()) return Status::ok();
  for (const codec::MemberIn& m : pp.members) {
    if (m.id != pp.sender) continue;
    const std::string theirs = m.meta.decode().cluster_id;
    if (!theirs.empty() && theirs != ours) {
      return Status::invalid_argument("push-pull with a member of cluster " + theirs +
                                      ", ours is " + ours);
    }
  }
  return Status::ok();
}

void Gossip::Impl::merge(TimePoint now, const codec::PushPullIn& pp, Via list_via) {
  for (const codec::MemberIn& m : pp.members) {
    const Via via = m.id == pp.sender ? Via::kPushPullPeer : list_via;
    switch (m.status) {
      case MemberStatus::kAlive:
        handle_alive(now, m.incarnation, m.id, MetaArg{nullptr, m.meta}, via);
        break;
      case MemberStatus::kSuspect:
      case MemberStatus::kDead:
        handle_suspect(now, codec::Suspect{m.incarnation, m.id, pp.sender}, via);
        break;
      case MemberStatus::kLeft:
        handle_left(now, codec::Left{m.incarnation, m.id}, via);
        break;
    }
  }
}

void Gossip::Impl::on_stream_reply(TimePoint now, uint64_t id, Result<std::vector<uint8_t>> reply) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  const PendingStream ps = it->second;
  streams_.erase(it);
  if (!reply) ++stats_.streams_failed;
  switch (ps.kind) {
    case StreamRequest::Kind::kProbe:
      on_probe_reply(now, ps.seq, ps.last_call, reply);
      return;
    case StreamRequest::Kind::kPushPull:
      if (reply) {
        auto pp = codec::decode_push_pull(*reply);
        if (!pp) {
          ++stats_.decode_errors;
          return;
        }
        if (!check_cluster(*pp).is_ok()) return;
        ++stats_.push_pulls;
        merge(now, *pp, Via::kPushPull);
      }
      return;
    case StreamRequest::Kind::kJoin: {
      bool ok = false;
      if (reply) {
        auto pp = codec::decode_push_pull(*reply);
        if (pp && check_cluster(*pp).is_ok()) {
          ++stats_.push_pulls;
          merge(now, *pp, Via::kJoinReply);
          ok = true;
        } else if (!pp) {
          ++stats_.decode_errors;
        }
      }
      if (ps.join_round == join_.round && join_.in_flight > 0) --join_.in_flight;
      if (ok && join_.active) {
        join_.active = false;
        join_.seeds.clear();
        join_.in_flight = 0;
        emit_self(Event::Kind::kJoined, {});
        // One early sync with a random member, a few seconds on: the seed
        // only knew the members that joined before us, and in a rolling
        // start many more join at the same time.
        const Duration early = cfg_.push_pull_interval / 8;
        next_push_pull_at_ = std::min(
            next_push_pull_at_, now + early +
                                    Duration(static_cast<int64_t>(
                                        rng_.uniform(static_cast<uint64_t>(early.count()) + 1))));
      }
      return;
    }
  }
}

void Gossip::Impl::push_pull_tick(TimePoint now) {
  if (leaving_ || now < next_push_pull_at_) return;
  // Stretched with the cluster size, so the cluster-wide sync traffic grows
  // only logarithmically.
  next_push_pull_at_ = now + timing::push_pull_interval(cfg_.push_pull_interval, alive_count());
  const std::vector<uint32_t> peer = sample(
      1, [](const MemberRecord& r) { return r.status == MemberStatus::kAlive && !r.restored; });
  if (peer.empty()) return;
  open_stream(StreamRequest::Kind::kPushPull, table_.at(peer[0]).meta->gossip,
              codec::encode_push_pull(false, self_id_, state_views()), stream_timeout());
}

void Gossip::Impl::reconnect_tick(TimePoint now) {
  if (leaving_ || now < next_reconnect_at_) return;
  if (alive_count() <= 1) {
    // Alone (a restart without --join, or cut off): retry sooner, backing
    // off from one probe interval up to reconnect_interval.
    const int shift = std::min(lonely_reconnects_++, 16);
    next_reconnect_at_ =
        now + std::min(cfg_.reconnect_interval, cfg_.probe_interval * (int64_t{1} << shift));
  } else {
    lonely_reconnects_ = 0;
    next_reconnect_at_ = now + cfg_.reconnect_interval;
  }
  if (down_.empty()) return;
  auto it = down_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(rng_.uniform(down_.size())));
  const uint32_t slot = table_.find(it->second);
  if (slot == MemberTable::kNone) return;
  const Address addr = table_.at(slot).meta->gossip;
  if (addr.empty()) return;
  open_stream(StreamRequest::Kind::kPushPull, addr,
              codec::encode_push_pull(false, self_id_, state_views()), stream_timeout());
}

void Gossip::Impl::join(TimePoint now, const std::vector<Address>& seeds) {
  if (leaving_) return;
  const Address& ours = table_.at(self_slot_).meta->gossip;
  for (const Address& s : seeds) {
    if (s.empty() || s == ours) continue;
    if (std::find(join_.seeds.begin(), join_.seeds.end(), s) == join_.seeds.end()) {
      join_.seeds.push_back(s);
    }
  }
  if (join_.seeds.empty()) return;
  join_.active = true;
  join_.attempt = 0;
  if (join_.in_flight == 0) join_.next_at = now;
  // Start at once: the host drains take_ready() right after this call.
  join_tick(now);
}

void Gossip::Impl::join_tick(TimePoint now) {
  if (!join_.active || leaving_ || join_.in_flight > 0 || now < join_.next_at) return;
  ++join_.round;
  const codec::Bytes payload = codec::encode_push_pull(true, self_id_, state_views());
  for (const Address& seed : join_.seeds) {
    open_stream(StreamRequest::Kind::kJoin, seed, payload, stream_timeout());
    ++join_.in_flight;
  }
  // Exponential backoff from one probe interval up to join_retry_max, with
  // jitter so a fleet restarted together does not retry in lockstep.
  const int shift = std::min(join_.attempt++, 16);
  Duration backoff = std::min(cfg_.join_retry_max, cfg_.probe_interval * (int64_t{1} << shift));
  backoff +=
      Duration(static_cast<int64_t>(rng_.uniform(static_cast<uint64_t>(backoff.count() / 4 + 1))));
  join_.next_at = now + backoff;
}

void Gossip::Impl::restore(TimePoint now, const std::vector<Member>& remembered) {
  for (const Member& m : remembered) {
    if (m.id == self_id_) {
      // Start above our previous life, so our alive message overrides any
      // death the cluster recorded while we were away.
      MemberRecord& me = table_.at(self_slot_);
      if (m.incarnation >= me.incarnation) {
        me.incarnation = m.incarnation + 1;
        sync_self();
        queue_member(self_slot_);
      }
      continue;
    }
    if (table_.find(m.id) != MemberTable::kNone) continue;
    if (table_.size() >= codec::kMaxMembers) break;
    // Not trusted as alive: a reconnect target until heard from.
    const MemberStatus status =
        m.status == MemberStatus::kLeft ? MemberStatus::kLeft : MemberStatus::kDead;
    const uint32_t slot = add_member(m.id, status, m.incarnation, m.meta, now);
    table_.at(slot).restored = true;
  }
  next_reconnect_at_ = now;
  lonely_reconnects_ = 0;
}

}  // namespace shoal::gossip
