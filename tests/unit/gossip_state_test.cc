// The member state machine of one core, driven by hand-made packets:
// incarnation ordering, refutation, left vs dead, suspicion timeouts,
// undecodable input, and the broadcast queue's rules.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/unit/gossip_test_util.h"

namespace shoal::gossip {
namespace {

using namespace test;
using std::chrono::milliseconds;
using std::chrono::seconds;
using K = Event::Kind;

class GossipState : public ::testing::Test {
 protected:
  GossipState() : rng_(1), g_(Config::lan(), nid(0), meta(0), rng_, now_) { (void)g_.take_ready(); }

  Ready feed(std::vector<uint8_t> bytes, uint64_t from = 1) {
    EXPECT_TRUE(g_.on_packet(now_, addr(from), bytes).is_ok());
    return g_.take_ready();
  }
  Ready feed(std::initializer_list<std::vector<uint8_t>> parts, uint64_t from = 1) {
    return feed(packet(parts), from);
  }
  MemberStatus status(uint64_t i) { return g_.find(nid(i)).value().status; }
  uint64_t inc(uint64_t i) { return g_.find(nid(i)).value().incarnation; }

  // Moves the clock to `t` in steps of 50 ms, ticking the core and playing
  // every other member: pings and fallback probes to members that are not
  // `silent` are acked at once; a TCP probe of a member in `refuted_` is
  // answered with its alive record at that incarnation too (as a real
  // core's stream reply is). Returns everything the core sent.
  std::vector<Sent> advance(TimePoint t) {
    std::vector<Sent> all;
    while (now_ < t) {
      now_ = std::min(t, now_ + milliseconds(50));
      g_.tick(now_);
      for (int round = 0; round < 4; ++round) {
        Ready r = g_.take_ready();
        for (const StreamRequest& s : r.streams) {
          auto ping = codec::decode_stream_request(s.payload);
          const auto* p = ping ? std::get_if<codec::Ping>(&*ping) : nullptr;
          if (p != nullptr && !silent_.count(p->target.lo())) {
            g_.on_stream_reply(now_, s.id, answer(*p, /*stream=*/true));
          } else {
            g_.on_stream_reply(now_, s.id, Status::unavailable("no answer"));
          }
        }
        for (Sent& sent : decode_sent(r)) {
          for (const auto& m : sent.messages) {
            if (const auto* p = std::get_if<codec::Ping>(&m); p && !silent_.count(p->target.lo())) {
              g_.on_packet(now_, addr(p->target.lo()), answer(*p, /*stream=*/false)).ignore();
            }
          }
          all.push_back(std::move(sent));
        }
      }
    }
    return all;
  }
  // Runs until the broadcast queue is empty (at most a minute).
  std::vector<Sent> drain() {
    std::vector<Sent> all;
    for (int i = 0; i < 600 && g_.broadcasts_pending() > 0; ++i) {
      for (Sent& s : advance(now_ + milliseconds(100))) all.push_back(std::move(s));
    }
    return all;
  }

  std::vector<uint8_t> answer(const codec::Ping& p, bool stream) {
    const uint64_t i = p.target.lo();
    if (auto it = refuted_.find(i); stream && it != refuted_.end()) {
      return packet({codec::encode(codec::Ack{p.seq, p.target}), alive(i, it->second)});
    }
    return packet({codec::encode(codec::Ack{p.seq, p.target})});
  }

  std::set<uint64_t> silent_;
  std::map<uint64_t, uint64_t> refuted_;
  TimePoint now_ = time_at(seconds(100));
  Rng rng_;
  Gossip g_;
};

TEST_F(GossipState, AliveFromAnUnknownMemberAddsItAndGossipsIt) {
  Ready r = feed({alive(1, 0)});
  ASSERT_EQ(events_of(r, K::kJoin).size(), 1u);
  EXPECT_EQ(events_of(r, K::kJoin)[0].member.meta, meta(1));
  EXPECT_TRUE(r.persist_members);
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  EXPECT_EQ(g_.alive_count(), 2u);
  // Our own alive and the news about node 1.
  EXPECT_EQ(g_.broadcasts_pending(), 2u);
  // The same news again changes nothing.
  r = feed({alive(1, 0)});
  EXPECT_TRUE(r.events.empty());
  EXPECT_FALSE(r.persist_members);
}

TEST_F(GossipState, StaleAndEqualIncarnationAlivesAreIgnored) {
  feed({alive(1, 5)});
  Ready r = feed({alive(1, 3)});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(inc(1), 5u);
  // Equal incarnation with other metadata: not an update (metadata is
  // versioned by incarnation).
  NodeMeta other = meta(1);
  other.name = "impostor";
  r = feed({codec::encode(codec::Alive{5, nid(1), other})});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(g_.find(nid(1))->meta.name, "n1");
  // A higher incarnation with new metadata: an update.
  r = feed({codec::encode(codec::Alive{6, nid(1), other})});
  ASSERT_EQ(events_of(r, K::kUpdate).size(), 1u);
  EXPECT_EQ(g_.find(nid(1))->meta.name, "impostor");
  EXPECT_TRUE(r.persist_members);
}

TEST_F(GossipState, SuspicionFollowsIncarnations) {
  feed({alive(1, 4)});
  // A suspicion about an older life is stale.
  Ready r = feed({codec::encode(codec::Suspect{3, nid(1), nid(2)})});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  r = feed({codec::encode(codec::Suspect{4, nid(1), nid(2)})});
  EXPECT_EQ(events_of(r, K::kSuspect).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  // Alive at the same incarnation does not clear a suspicion...
  r = feed({alive(1, 4)});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  // ...a refutation (higher incarnation) does.
  r = feed({alive(1, 5)});
  EXPECT_EQ(events_of(r, K::kAlive).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  EXPECT_EQ(inc(1), 5u);
}

TEST_F(GossipState, DeadWithALowerIncarnationIsIgnored) {
  feed({alive(1, 7)});
  Ready r = feed({codec::encode(codec::Dead{6, nid(1), nid(2)})});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  r = feed({codec::encode(codec::Dead{7, nid(1), nid(2)})});
  EXPECT_EQ(events_of(r, K::kDead).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kDead);
  EXPECT_TRUE(r.persist_members);
  // Not resurrected by the same incarnation, nor suspected.
  r = feed({alive(1, 7), codec::encode(codec::Suspect{8, nid(1), nid(2)})});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(status(1), MemberStatus::kDead);
  // Back with a higher incarnation: a join again, and a flap.
  r = feed({alive(1, 8)});
  EXPECT_EQ(events_of(r, K::kJoin).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  EXPECT_EQ(g_.stats().flaps, 1u);
}

TEST_F(GossipState, LeftIsFinalUntilAHigherIncarnationRejoins) {
  feed({alive(1, 2)});
  Ready r = feed({codec::encode(codec::Left{3, nid(1)})});
  EXPECT_EQ(events_of(r, K::kLeft).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kLeft);
  r = feed({alive(1, 3), codec::encode(codec::Suspect{3, nid(1), nid(2)}),
            codec::encode(codec::Dead{3, nid(1), nid(2)}),
            codec::encode(codec::Dead{2, nid(1), nid(2)}),
            codec::encode(codec::Suspect{9, nid(1), nid(2)})});
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(status(1), MemberStatus::kLeft);
  r = feed({alive(1, 4)});
  EXPECT_EQ(events_of(r, K::kJoin).size(), 1u);
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  EXPECT_EQ(g_.stats().flaps, 0u);  // a rejoin after leaving is not a flap
}

TEST_F(GossipState, ASuspicionOfUsIsRefutedWithAHigherIncarnation) {
  EXPECT_EQ(g_.self().incarnation, 0u);
  feed({alive(1, 0)});
  Ready r = feed({codec::encode(codec::Suspect{0, nid(0), nid(1)})});
  EXPECT_EQ(g_.self().incarnation, 1u);
  EXPECT_EQ(g_.self().status, MemberStatus::kAlive);
  EXPECT_EQ(g_.stats().refutations, 1u);
  EXPECT_EQ(g_.health_score(), 1);  // Lifeguard: refuting hints we are slow
  EXPECT_TRUE(r.persist_members);
  // The refutation goes out: an alive about us at incarnation 1.
  bool refuted = false;
  for (const auto& s : drain()) {
    for (const auto& m : s.messages) {
      if (auto* a = std::get_if<codec::AliveIn>(&m); a && a->id == nid(0))
        refuted = a->incarnation == 1;
    }
  }
  EXPECT_TRUE(refuted);
  // A suspicion of an incarnation we already left behind is stale.
  feed({codec::encode(codec::Suspect{0, nid(0), nid(1)})});
  EXPECT_EQ(g_.self().incarnation, 1u);
  // Dead and left claims at or above our incarnation are refuted past them.
  feed({codec::encode(codec::Dead{5, nid(0), nid(1)})});
  EXPECT_EQ(g_.self().incarnation, 6u);
  feed({codec::encode(codec::Left{6, nid(0)})});
  EXPECT_EQ(g_.self().incarnation, 7u);
  // Someone believes in a later life of ours: we move past it.
  feed({alive(0, 20)});
  EXPECT_EQ(g_.self().incarnation, 21u);
  EXPECT_EQ(g_.stats().refutations, 4u);
}

TEST_F(GossipState, ALeavingNodeDoesNotRefute) {
  feed({alive(1, 0)});
  g_.leave(now_);
  EXPECT_EQ(g_.self().status, MemberStatus::kLeft);
  EXPECT_EQ(g_.self().incarnation, 1u);
  feed({codec::encode(codec::Dead{1, nid(0), nid(1)})});
  EXPECT_EQ(g_.self().status, MemberStatus::kLeft);
  EXPECT_EQ(g_.self().incarnation, 1u);
  // Only the goodbye is queued, and it drains.
  EXPECT_EQ(g_.broadcasts_pending(), 1u);
  const auto sent = drain();
  EXPECT_EQ(g_.broadcasts_pending(), 0u);
  ASSERT_FALSE(sent_of<codec::Left>(sent).empty());
  EXPECT_EQ(sent_of<codec::Left>(sent)[0].incarnation, 1u);
  // It no longer probes.
  EXPECT_TRUE(sent_of<codec::Ping>(sent).empty());
}

TEST_F(GossipState, UndecodablePacketsAreCountedAndChangeNothing) {
  feed({alive(1, 0)});
  const auto before = g_.members();
  const uint64_t pending = g_.broadcasts_pending();
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      {0xc1},                                                  // never-used msgpack byte
      {0x93, 0x01, 0x01},                                      // truncated envelope
      {0x93, 0x01, 0x01, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff},  // 4 billion parts
      // A valid alive about a new member followed by a broken part: the
      // alive must not be applied either.
      packet({alive(2, 0), std::vector<uint8_t>{0x93, 0x02, 0x01, 0x90}}),
  };
  for (const auto& b : bad) {
    const Status st = g_.on_packet(now_, addr(1), b);
    EXPECT_EQ(st.code(), StatusCode::kDecode) << st.to_string();
  }
  EXPECT_EQ(g_.stats().decode_errors, bad.size());
  Ready r = g_.take_ready();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(g_.members().size(), before.size());
  EXPECT_FALSE(g_.find(nid(2)).has_value());
  EXPECT_EQ(g_.broadcasts_pending(), pending);
  // Streams too.
  auto s = g_.on_stream(now_, addr(1), std::vector<uint8_t>{0x90});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), StatusCode::kDecode);
}

TEST_F(GossipState, SuspicionTimesOutIntoDeathInASmallCluster) {
  feed({alive(1, 0)});
  const TimePoint start = now_;
  feed({codec::encode(codec::Suspect{0, nid(1), nid(2)})});
  // Two members: min = 4 x max(1, log10 2) x 1 s = 4 s, and no
  // confirmations are expected, so the timeout is min. Node 1 answers our
  // probes (an ack does not clear a suspicion; only a refutation does).
  // Then one last call of a probe interval, answered by acks alone.
  advance(start + seconds(4) - milliseconds(1));
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  advance(start + seconds(5) - milliseconds(1));
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  advance(start + seconds(5) + milliseconds(100));  // (ticks come every 50 ms)
  EXPECT_EQ(status(1), MemberStatus::kDead);
  EXPECT_EQ(g_.stats().deaths_declared, 1u);
}

TEST_F(GossipState, TheLastCallCatchesAMissedRefutation) {
  feed({alive(1, 0)});
  const TimePoint start = now_;
  feed({codec::encode(codec::Suspect{0, nid(1), nid(2)})});
  // Node 1 refuted long ago (incarnation 3) but we never heard it. Its UDP
  // acks (our regular probes succeed) carry nothing more; the TCP probe of
  // the last call brings its alive record.
  refuted_[1] = 3;
  advance(start + seconds(8));
  EXPECT_EQ(status(1), MemberStatus::kAlive);
  EXPECT_EQ(inc(1), 3u);
  EXPECT_EQ(g_.stats().deaths_declared, 0u);
}

TEST_F(GossipState, AStaleSuspicionOfUsIsAnsweredWithOurAlive) {
  feed({alive(1, 0)});
  feed({codec::encode(codec::Suspect{0, nid(0), nid(1)})});  // refuted: incarnation 1
  ASSERT_EQ(g_.self().incarnation, 1u);
  (void)g_.take_ready();
  // A buddy-system ping still carrying the old suspicion: the ack brings
  // our alive at incarnation 1 straight back to the prober.
  ASSERT_TRUE(g_.on_packet(now_, addr(1),
                           packet({codec::encode(codec::Suspect{0, nid(0), nid(1)}),
                                   codec::encode(codec::Ping{5, nid(0), nid(1)})})));
  auto sent = decode_sent(g_.take_ready());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, addr(1));
  ASSERT_FALSE(sent_of<codec::Ack>(sent).empty());
  bool alive_back = false;
  for (const auto& a : sent_of<codec::AliveIn>(sent))
    alive_back = alive_back || (a.id == nid(0) && a.incarnation == 1);
  EXPECT_TRUE(alive_back);
  // A stale death in a plain gossip packet: a direct packet with our alive.
  ASSERT_TRUE(g_.on_packet(now_, addr(1), packet({codec::encode(codec::Dead{0, nid(0), nid(1)})})));
  sent = decode_sent(g_.take_ready());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, addr(1));
  EXPECT_EQ(g_.self().incarnation, 1u);
}

TEST_F(GossipState, ConfirmationsShortenTheSuspicion) {
  for (uint64_t i = 1; i <= 9; ++i) feed({alive(i, 0)});
  // Ten members: min = 4 s, max = 24 s, two confirmations expected.
  const TimePoint start = now_;
  feed({codec::encode(codec::Suspect{0, nid(1), nid(2)})});
  advance(start + seconds(13));
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  // A repeat from the accuser is nothing new.
  feed({codec::encode(codec::Suspect{0, nid(1), nid(2)})});
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  // One independent confirmation: 24 - 20 x log(2)/log(3) = 11.38 s, which
  // has passed: the last call starts at the next tick, and the member is
  // dead one probe interval later.
  feed({codec::encode(codec::Suspect{0, nid(1), nid(3)})});
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  advance(now_ + milliseconds(999));
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  advance(now_ + milliseconds(100));
  EXPECT_EQ(status(1), MemberStatus::kDead);
}

TEST_F(GossipState, WithoutLifeguardTheSuspicionTimeoutIsFixed) {
  Config c = Config::lan();
  c.lifeguard = false;
  Rng rng(3);
  Gossip g(c, nid(0), meta(0), rng, now_);
  for (uint64_t i = 1; i <= 9; ++i) ASSERT_TRUE(g.on_packet(now_, addr(i), packet({alive(i, 0)})));
  const TimePoint start = now_;
  ASSERT_TRUE(
      g.on_packet(now_, addr(2), packet({codec::encode(codec::Suspect{0, nid(1), nid(2)})})));
  ASSERT_TRUE(
      g.on_packet(now_, addr(3), packet({codec::encode(codec::Suspect{0, nid(1), nid(3)})})));
  ASSERT_TRUE(
      g.on_packet(now_, addr(4), packet({codec::encode(codec::Suspect{0, nid(1), nid(4)})})));
  // Plain SWIM: min (4 s) whatever the confirmations, and no health score.
  EXPECT_LE(g.next_deadline(), start + seconds(4));
  g.tick(start + seconds(4) - milliseconds(1));
  EXPECT_EQ(g.find(nid(1))->status, MemberStatus::kSuspect);
  g.tick(start + seconds(4));
  EXPECT_EQ(g.find(nid(1))->status, MemberStatus::kDead);
  ASSERT_TRUE(
      g.on_packet(now_, addr(2), packet({codec::encode(codec::Suspect{0, nid(0), nid(2)})})));
  EXPECT_EQ(g.self().incarnation, 1u);
  EXPECT_EQ(g.health_score(), 0);
}

TEST_F(GossipState, NewerNewsReplacesQueuedOlderNews) {
  feed({alive(1, 0)});
  drain();
  ASSERT_EQ(g_.broadcasts_pending(), 0u);
  feed({alive(1, 1)});
  feed({codec::encode(codec::Suspect{1, nid(1), nid(2)})});
  feed({codec::encode(codec::Dead{1, nid(1), nid(2)})});
  EXPECT_EQ(g_.broadcasts_pending(), 1u);
  const auto sent = drain();
  EXPECT_TRUE(sent_of<codec::AliveIn>(sent).empty());
  EXPECT_TRUE(sent_of<codec::Suspect>(sent).empty());
  EXPECT_FALSE(sent_of<codec::Dead>(sent).empty());
}

TEST_F(GossipState, EachUpdateIsRetransmittedExactlyTheLimit) {
  // Three other members: n = 4 alive, limit = 4 x ceil(log10(5)) = 4.
  for (uint64_t i = 1; i <= 3; ++i) feed({alive(i, 0)});
  drain();
  feed({codec::encode(codec::Suspect{0, nid(2), nid(3)})});
  size_t copies = 0;
  for (const auto& s : drain()) {
    for (const auto& m : s.messages) {
      // (Probes of node 2 carry our own suspicion first -- the buddy
      // system -- but that is not the queued broadcast.)
      if (auto* sus = std::get_if<codec::Suspect>(&m);
          sus && sus->id == nid(2) && sus->from == nid(3)) {
        ++copies;
      }
    }
  }
  EXPECT_EQ(copies, 4u);
}

TEST_F(GossipState, PushPullRepliesWithOurStateAndRefusesAnotherCluster) {
  feed({alive(1, 3)});
  NodeMeta m2 = meta(2);
  std::vector<codec::MemberView> views{{nid(2), 1, MemberStatus::kAlive, &m2}};
  auto reply = g_.on_stream(now_, addr(2), codec::encode_push_pull(false, nid(2), views));
  ASSERT_TRUE(reply) << reply.status().to_string();
  auto pp = codec::decode_push_pull(*reply);
  ASSERT_TRUE(pp);
  EXPECT_EQ(pp->sender, nid(0));
  EXPECT_EQ(pp->members.size(), 2u);  // our state before the merge: self and node 1
  EXPECT_EQ(status(2), MemberStatus::kAlive);

  Rng rng(2);
  NodeMeta ours = meta(5);
  ours.cluster_id = "cluster-a";
  Gossip g(Config::lan(), nid(5), ours, rng, now_);
  NodeMeta theirs = meta(6);
  theirs.cluster_id = "cluster-b";
  std::vector<codec::MemberView> other{{nid(6), 0, MemberStatus::kAlive, &theirs}};
  auto refused = g.on_stream(now_, addr(6), codec::encode_push_pull(true, nid(6), other));
  ASSERT_FALSE(refused);
  EXPECT_FALSE(g.find(nid(6)).has_value());
}

TEST_F(GossipState, PushPullTurnsARemoteDeathIntoASuspicion) {
  feed({alive(1, 2)});
  NodeMeta m1 = meta(1);
  NodeMeta m3 = meta(3);
  std::vector<codec::MemberView> views{{nid(1), 2, MemberStatus::kDead, &m1},
                                       {nid(3), 0, MemberStatus::kAlive, &m3}};
  ASSERT_TRUE(g_.on_stream(now_, addr(3), codec::encode_push_pull(false, nid(3), views)));
  // The other side's death becomes our suspicion (attributed to it), so
  // node 1 still gets to refute.
  EXPECT_EQ(status(1), MemberStatus::kSuspect);
  EXPECT_EQ(status(3), MemberStatus::kAlive);
}

TEST_F(GossipState, UpdateMetaRaisesTheIncarnationAndGossipsIt) {
  feed({alive(1, 0)});
  drain();
  NodeMeta m = meta(0);
  m.attrs["zone"] = "eu-2";
  g_.update_meta(now_, m);
  EXPECT_EQ(g_.self().incarnation, 1u);
  EXPECT_EQ(g_.self().meta.attrs.at("zone"), "eu-2");
  bool seen = false;
  for (const auto& s : drain()) {
    for (const auto& sent : s.alive_metas) seen = seen || sent == m;
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace shoal::gossip
