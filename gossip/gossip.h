// Gossip: SWIM membership with Lifeguard, as a pure state machine.
//
// The core owns the member list and every protocol decision. It has no
// sockets, threads or clock: the host passes `now` into every call, hands it
// decrypted packet payloads and stream requests, and after each call drains
// take_ready() for what to send, which streams to open, which events happened
// and whether the member list must be persisted. Randomness comes from the
// injected Rng. The same core runs inside `shoal agent` (node/) and inside the
// deterministic simulator (tests/sim).
//
// Protocol summary (see docs/ARCHITECTURE.md, "Gossip"):
//  - randomized round-robin probing, one member per probe interval; a probe
//    that times out asks `indirect_checks` members to probe for us (they
//    nack when they cannot reach it) and asks the host for a TCP fallback
//    probe (StreamRequest of kind kProbe);
//  - suspicion with Lifeguard's dynamic timeout: it starts at max and shrinks
//    towards min as independent members confirm the suspicion; when it runs
//    out, a last call (a ping carrying the suspicion plus a TCP probe, both
//    answered with the suspect's current alive record) gets one more probe
//    interval before the member is declared dead;
//  - local health awareness: missed nacks and refutations raise a score that
//    stretches our own probe interval and timeout;
//  - the buddy system: a probe of a suspect member carries the suspicion to
//    it first, so it can refute quickly; a member that hears a suspicion of
//    an incarnation it already refuted answers the sender with its alive;
//  - dissemination by piggybacking on probes, acks and gossip rounds, each
//    update retransmitted retransmit_mult*ceil(log10(N+1)) times (members
//    first heard of in a push-pull: retransmit_mult times), packed into
//    compound packets of at most max_packet_bytes;
//  - periodic push-pull full-state sync over a stream with a random member
//    (one early extra sync a few seconds after joining); join is a push-pull
//    with the seeds, retried with backoff;
//  - dead and left members are retried every reconnect_interval so that the
//    halves of a long partition merge again, and reaped after reap_timeout;
//  - cluster-wide queries: broadcast, answered by every member, gathered
//    until a deadline (keyring operations use them).
//
// Lifeguard's parts (health awareness, dynamic suspicion, buddy system,
// nacks) and the last call are on unless Config::lifeguard is false (plain
// SWIM, kept for comparisons).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "core/time.h"
#include "gossip/config.h"
#include "gossip/meta_pool.h"
#include "gossip/types.h"

namespace shoal::gossip {

// A UDP datagram payload to send (plaintext; the host seals it).
struct Packet {
  Address to;
  std::vector<uint8_t> payload;
};

// A request the host must carry over a TCP stream: connect to `to`, write
// `payload` as one frame, read one reply frame, then call on_stream_reply()
// with the reply or the error (timeouts included). Push-pull syncs, joins and
// TCP probes (the fallback of a failed UDP probe, and the last call before a
// suspect is declared dead) use streams. Payloads and replies are opaque to
// the host; every request gets one call of on_stream_reply (an error when it
// could not connect, send, or read a reply within `timeout`).
struct StreamRequest {
  enum class Kind : uint8_t { kPushPull, kJoin, kProbe };
  uint64_t id = 0;
  Kind kind = Kind::kPushPull;
  Address to;
  std::vector<uint8_t> payload;
  Duration timeout{};
};

struct QueryInfo {
  uint64_t id = 0;  // unique per origin
  NodeId origin;
  std::string name;  // e.g. "keyring"
  std::vector<uint8_t> payload;
  // For kQueryResponse: who answered and what.
  NodeId responder;
  std::vector<uint8_t> response;
};

struct Event {
  enum class Kind : uint8_t {
    kJoin,    // a member was seen for the first time (or came back from dead/left)
    kUpdate,  // a member's metadata changed
    kSuspect,
    kAlive,  // a suspect member refuted
    kDead,
    kLeft,
    kReaped,         // forgotten after reap_timeout
    kQuery,          // a query arrived; answer with respond()
    kQueryResponse,  // a response to one of our queries
    kQueryDone,      // our query's deadline passed
    kJoined,         // join() succeeded with at least one seed
  };
  Kind kind;
  Member member;    // the member concerned (self for kQuery*)
  QueryInfo query;  // for the query kinds
};

// What the host must do after a call into the core. Ordering rule: persist
// the member list (when asked) before anything else; sending has no ordering
// constraint relative to events.
struct Ready {
  std::vector<Packet> packets;
  std::vector<StreamRequest> streams;
  std::vector<Event> events;
  bool persist_members = false;  // the host saves encode_members(members())
  bool empty() const {
    return packets.empty() && streams.empty() && events.empty() && !persist_members;
  }
};

// Counters for /v1/metrics and the benchmarks.
struct Stats {
  uint64_t probes_sent = 0;
  uint64_t indirect_probes_sent = 0;
  uint64_t fallback_probes = 0;
  uint64_t acks_received = 0;
  uint64_t nacks_received = 0;
  uint64_t suspicions_raised = 0;  // by this node
  uint64_t refutations = 0;        // times this node refuted a suspicion of itself
  uint64_t deaths_declared = 0;    // by this node (suspicion timeouts)
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t decode_errors = 0;
  uint64_t push_pulls = 0;
  uint64_t flaps = 0;              // members that went dead then alive again
  uint64_t streams_failed = 0;     // our stream requests that got an error
  uint64_t queries_answered = 0;   // responses this node sent (or gave itself)
  uint64_t oversized_dropped = 0;  // a message too big for one packet, not sent
};

class Gossip {
 public:
  // `pool` interns member metadata; pass one pool to many cores driven from
  // one thread (the simulator) so equal metadata is stored once. nullptr: a
  // private pool.
  Gossip(Config config, NodeId self, NodeMeta meta, Rng& rng, TimePoint now,
         std::shared_ptr<MetaPool> pool = nullptr);
  ~Gossip();
  Gossip(const Gossip&) = delete;
  Gossip& operator=(const Gossip&) = delete;

  // ---- startup ----
  // Members remembered from a previous run (see persisted_state()). They are
  // not trusted as alive: they become reconnect targets, so a restarted node
  // finds its cluster again without --join.
  void restore(TimePoint now, const std::vector<Member>& remembered);
  // Starts a join through the seed addresses (push-pull with each); retried
  // with exponential backoff up to join_retry_max until one answers, then a
  // kJoined event. Calling it again adds seeds.
  void join(TimePoint now, const std::vector<Address>& seeds);

  // ---- inputs ----
  // Advances timers: probes, probe timeouts, gossip rounds, push-pull,
  // suspicion timeouts, reconnects, reaping, query deadlines.
  void tick(TimePoint now);
  // When tick() next has work to do; the host arms a timer for it.
  TimePoint next_deadline() const;
  // A decrypted UDP payload. Undecodable payloads return a kDecode Status,
  // are counted, and change nothing.
  Status on_packet(TimePoint now, const Address& from, std::span<const uint8_t> payload);
  // A request frame read from an accepted TCP stream; the returned bytes are
  // the reply frame (empty: close without reply).
  Result<std::vector<uint8_t>> on_stream(TimePoint now, const Address& from,
                                         std::span<const uint8_t> request);
  // The outcome of one of our StreamRequests.
  void on_stream_reply(TimePoint now, uint64_t id, Result<std::vector<uint8_t>> reply);

  // ---- local actions ----
  // Graceful leave: broadcast "left" (a higher incarnation), then the host
  // waits for the broadcast to drain (broadcasts_pending() == 0 or a
  // timeout) before it stops.
  void leave(TimePoint now);
  // Publishes new metadata for this node (raises our incarnation). Metadata
  // must pass check_meta(); a larger one still spreads by push-pull but is
  // too big to gossip.
  void update_meta(TimePoint now, NodeMeta meta);
  // Sends a query to every member; responses arrive as kQueryResponse events
  // until `timeout`, then kQueryDone. Returns the query id.
  uint64_t start_query(TimePoint now, std::string name, std::vector<uint8_t> payload,
                       Duration timeout);
  // Answers a query received as a kQuery event. The response travels in one
  // UDP packet: keep it under ~1 KB (larger ones are dropped and counted in
  // Stats::oversized_dropped).
  void respond(TimePoint now, const QueryInfo& query, std::vector<uint8_t> response);

  Ready take_ready();

  // ---- views ----
  const Member& self() const;
  // Every known member (self included), dead and left ones until reaped;
  // sorted by id.
  std::vector<Member> members() const;
  // A copy of one member's record (the core keeps compact records, not
  // Member objects), or nullopt.
  std::optional<Member> find(const NodeId& id) const;
  size_t alive_count() const;  // alive + suspect, self included
  int health_score() const;    // Lifeguard awareness, 0 = healthy
  size_t broadcasts_pending() const;
  const Stats& stats() const;
  const Config& config() const;

  // Encodes/decodes the member list for the host to persist (msgpack).
  static std::vector<uint8_t> encode_members(const std::vector<Member>& members);
  static Result<std::vector<Member>> decode_members(std::span<const uint8_t> bytes);
  // Whether metadata fits the wire's bounds (field sizes, at most 1 KB
  // encoded); the agent checks its flags with it at startup.
  static Status check_meta(const NodeMeta& meta);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::gossip
