// FollowPlan: which voter an observer follows the committed log from, and
// when it asks (pure: times come in, decisions go out; no sockets, no clock).
//
// An observer keeps no Raft log: it asks a voter for the committed entries
// after its applied index (node/cluster/cluster_rpc.h, follow). The voter holds the
// request (a long poll) until there is something new, the leader or term it
// knows changes, or `wait` has passed; so a caught-up observer learns of a
// new entry within one network trip of the voter applying it, and of a new
// leader as soon as the voter does.
//
// The observer must not wait for gossip to tell it that its source is gone
// (a dead member is declared only after seconds of suspicion). A source is
// given up, and avoided for `avoid` afterwards, as soon as
//   - the connection to it breaks or cannot open (failed());
//   - it has been silent for `wait + slack` on a held request, or `timeout`
//     on one it should answer at once (next() notices);
//   - it answers that it cannot serve the log, or that it is behind (its
//     term is older than one another voter reported: it is partitioned).
// Then the next request goes at once to another voter, and the caller also
// asks every other voter it knows for the current leader (probes()): the
// first of them to report a newer term or leader wins, instead of waiting
// for the new source's long poll.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/ids.h"
#include "core/time.h"

namespace shoal::node {

struct FollowPlanOptions {
  // How long a voter may hold a request with nothing to send.
  Duration wait = std::chrono::seconds(1);
  // Silence beyond `wait` after which a held request's source is given up.
  Duration slack = std::chrono::milliseconds(500);
  // The limit for a request the source answers at once (a snapshot chunk).
  Duration timeout = std::chrono::seconds(10);
  // After an answer that brought nothing and was not held: the next request
  // waits this long (a voter that ignores `wait` must not be polled in a
  // tight loop).
  Duration idle_gap = std::chrono::milliseconds(200);
  // After a source could not serve the log (an error answer).
  Duration retry = std::chrono::seconds(1);
  // A source given up is not chosen again for this long, while others exist.
  Duration avoid = std::chrono::seconds(3);
};

class FollowPlan {
 public:
  FollowPlan() = default;
  explicit FollowPlan(FollowPlanOptions options) : options_(options) {}

  struct Request {
    uint64_t id = 0;
    NodeId to;
    Duration wait{};  // how long the voter may hold it
  };

  // The request to send now, if any, given the voters that could serve the
  // log (alive in gossip, RPC address known, of this cluster; in a fixed
  // order). Keeps the current source while it is usable. `self` spreads
  // observers over the voters: a new source is picked starting at a position
  // derived from it. Gives up a silent source first (see above).
  std::optional<Request> next(TimePoint now, std::span<const NodeId> voters, const NodeId& self);

  // How request `id` was answered: kIgnored when it is not the one in flight
  // (late, or a probe). `news`: it brought entries, a snapshot chunk, or a
  // newer leader or term. `behind`: the source's term is older than known.
  enum class Answer { kIgnored, kAccepted };
  Answer answered(uint64_t id, TimePoint now, bool news, bool error, bool behind);

  // The connection to `peer` broke or could not open.
  void failed(const NodeId& peer, TimePoint now);

  // Whether a source was given up since the last call (then the caller asks
  // the other voters for the leader); clears the flag.
  bool take_probe_wanted();

  // Ids for probe requests, distinct from follow requests.
  uint64_t next_probe_id() { return ++next_id_; }

  const NodeId& source() const { return source_; }
  bool inflight() const { return inflight_.has_value(); }
  bool avoided(const NodeId& id, TimePoint now) const;
  const FollowPlanOptions& options() const { return options_; }
  // Sources given up so far (a metric).
  uint64_t failovers() const { return failovers_; }

 private:
  struct Inflight {
    uint64_t id = 0;
    TimePoint sent;
  };
  void give_up(const NodeId& peer, TimePoint now);

  FollowPlanOptions options_;
  NodeId source_;
  std::optional<Inflight> inflight_;
  TimePoint next_at_{};
  std::map<NodeId, TimePoint> avoid_until_;
  uint64_t next_id_ = 0;
  bool probe_wanted_ = false;
  uint64_t failovers_ = 0;
};

}  // namespace shoal::node
