// ForwardRouter: what becomes of a request that needs the Raft leader when
// this agent is not it (pure: the time, the known leader and the events come
// in; which requests to answer, how, and which to dispatch again go out; no
// sockets, no timers, no clock).
//
// Any agent takes any request (DESIGN.md §4); a write or a linearizable read
// that this agent cannot serve is forwarded to the leader over RPC. The rules
// the agent follows, so that a client sees a leader change as a short pause
// and never a write applied twice:
//   - A request sent to the leader waits for its answer up to a timeout.
//   - When nothing was done with it (the connection to the leader never
//     opened, the send was refused, the leader answered 503), a request from
//     this agent's own client waits for a leader again; a request another
//     agent forwarded here gets the 503, and that agent waits.
//   - When the request may have reached the leader (an open connection
//     broke, no answer in time, leadership moved and the old leader stayed
//     silent for kOldLeaderGrace), a write is answered 504, outcome unknown;
//     an own client's read, which changes nothing, waits for a leader again.
//   - A waiting request is dispatched again from the start (which cannot
//     apply a write twice: nothing of it was applied) as soon as a leader it
//     can use is known: this agent, or another whose RPC address is known and
//     which is not the one that just failed it (that one only after
//     kAvoidFor). At the end of its wait, kLeaderWait after it first waited
//     however often it was dispatched again, it gets the leader's 503 if one
//     was kept, else a 503 of ours. 503 always means nothing was done.
//
// `Handle` is whatever answers a request and, for this agent's own clients,
// dispatches it again (the agent: the HttpRequest and its HttpRespond; a
// test: an int; default-constructible and movable). `Response` is the
// leader's answer, passed back untouched.
// `Peer` names the connection a forward went on (the agent: an RPC endpoint).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/time.h"

namespace shoal::node {

// How long a forwarded request waits for the leader's answer (a blocking
// query adds its own wait).
inline constexpr Duration kForwardTimeout = std::chrono::seconds(15);
// How long a request forwarded to a leader that has since been replaced
// may still wait for that leader's answer (one already on its way). Every
// millisecond here is unavailability when the old leader is paused or cut
// off: the chaos suite measured windows of 3.4-3.7 s with a whole second.
inline constexpr Duration kOldLeaderGrace = std::chrono::milliseconds(200);
// How long a request that finds no usable leader waits for one (an
// election, a leader just lost) before it is answered 503.
inline constexpr Duration kLeaderWait = std::chrono::milliseconds(2000);
// A leader that just failed a request is tried again after this long even
// if it still leads (its failure may have been a passing one).
inline constexpr Duration kAvoidFor = std::chrono::milliseconds(500);
// While requests wait, they are looked at again at least this often: the
// agent learns some things that make a leader usable (gossip bringing its
// RPC address) or a wait pointless (the client went away) without telling
// the router.
inline constexpr Duration kLeaderWaitPoll = std::chrono::milliseconds(50);

// What this agent knows of the leader when it decides.
struct LeaderView {
  NodeId self;
  NodeId leader;           // zero while none is known
  bool leads = false;      // this agent leads and has the Raft log to serve
  bool reachable = false;  // the leader's RPC address is known

  // Whether a request may be dispatched again now without going to `avoid`
  // (zero: any leader will do).
  bool usable(const NodeId& avoid) const;
};

// Where forward() sends a request this agent cannot serve itself.
struct ForwardRoute {
  enum class Kind {
    kSend,         // to the leader
    kWait,         // for a leader (this agent's own client), avoiding `avoid`
    kUnavailable,  // 503 now: a forwarded request, or too many hops
  };
  Kind kind = Kind::kSend;
  std::string why;  // kWait, kUnavailable
  NodeId avoid;     // kWait
};
// `hops`: how many agents forwarded the request already (0: from this
// agent's own client). After kMaxForwardHops (node/cluster/cluster_rpc.h) it stops:
// the agents disagree on who leads, which a moment will settle.
ForwardRoute route_forward(uint8_t hops, const LeaderView& v);

template <class Handle, class Response, class Peer = NodeId>
class ForwardRouter {
 public:
  // A request sent to the leader.
  struct Forward {
    NodeId leader;  // whom it was sent to
    Peer to;        // the connection it went on
    Duration timeout = kForwardTimeout;
    // From this agent's own client: it may wait for a leader again. A
    // request another agent forwarded is answered, and that agent waits.
    bool retryable = false;
    // A read (GET, HEAD): abandoned, it waits for a leader again (when
    // retryable) instead of a 504.
    bool read = false;
    // False for /v1/raft/ requests, which may be waiting for the very
    // leadership change that would release them: they keep their timeout.
    bool releasable = true;
    // When its wait for a leader ends, if it waited before.
    std::optional<TimePoint> wait_until;
  };

  // What to do with a request now.
  struct Action {
    enum class Kind {
      kDispatch,        // a usable leader is known: dispatch it again
      kDeliver,         // answer with `response` (the leader's)
      kUnavailable,     // 503 saying `why`: nothing was done
      kOutcomeUnknown,  // 504 saying `why`: a write may have been applied
    };
    Kind kind = Kind::kUnavailable;
    Handle handle;
    std::string why;
    std::optional<Response> response;  // kDeliver
    // kDispatch: when its wait for a leader ends, should it wait again
    // (the agent keeps it in HttpRequest::leader_wait_until).
    TimePoint wait_until{};
  };

  ForwardRouter() = default;

  // ---- requests sent to the leader ----

  // Records a request just sent; returns its id (ForwardRequest::id).
  uint64_t add(Handle h, Forward f, TimePoint now) {
    const uint64_t id = next_id_++;
    const TimePoint deadline = now + f.timeout;
    forwards_.emplace(id, Pending{std::move(h), std::move(f), deadline,
                                  "the leader did not answer in time", false});
    return id;
  }

  // The leader answered `id` with `r`; `refused`: with a 503 (it did
  // nothing). The answer to deliver; nullopt when `id` is no longer
  // pending (answered as abandoned already) or waits for a leader again
  // (refused, retryable: it gets `r` at the end of its wait).
  std::optional<Action> answered(uint64_t id, Response r, bool refused, TimePoint now) {
    auto it = forwards_.find(id);
    if (it == forwards_.end()) return std::nullopt;
    Pending p = std::move(it->second);
    forwards_.erase(it);
    if (refused && p.f.retryable) {
      // The leader is stepping down or lost its quorum: the next one.
      return park(std::move(p.handle), "the leader could not take the request", p.f.leader,
                  p.f.wait_until, std::move(r), now);
    }
    return deliver(std::move(p.handle), std::move(r));
  }

  // Sending `id` was refused before anything went out (`error` says why).
  std::optional<Action> send_failed(uint64_t id, std::string_view error, TimePoint now) {
    auto it = forwards_.find(id);
    if (it == forwards_.end()) return std::nullopt;
    Pending p = std::move(it->second);
    forwards_.erase(it);
    return not_sent(std::move(p), "cannot reach the leader: " + std::string(error), now);
  }

  // The connection to `to` failed; `was_open`: it had opened, so what was
  // sent on it may have reached the leader. Requests sent on it that never
  // left wait for a leader again (or get 503); the others are abandoned (a
  // write gets 504: a CAS write tells a client that retries whether the
  // first attempt landed).
  std::vector<Action> connection_failed(const Peer& to, bool was_open, TimePoint now) {
    std::vector<Action> out;
    for (auto it = forwards_.begin(); it != forwards_.end();) {
      if (!(it->second.f.to == to)) {
        ++it;
        continue;
      }
      Pending p = std::move(it->second);
      it = forwards_.erase(it);
      std::optional<Action> a =
          was_open ? abandon(std::move(p),
                             "lost the connection to the leader; the request may or may not have "
                             "been applied",
                             now)
                   : not_sent(std::move(p), "cannot reach the leader", now);
      if (a) out.push_back(std::move(*a));
    }
    return out;
  }

  // The known leader is now `leader`. A request sent to an earlier leader
  // that has not answered within kOldLeaderGrace most likely never will (it
  // is paused, cut off or dead; had it seen the new term it would have
  // answered): then it is abandoned, instead of holding its client until
  // its timeout. A zero leader changes nothing (nobody knows yet whether the
  // old one is gone); unreleasable requests keep their timeout.
  void on_leader(const NodeId& leader, TimePoint now) {
    if (leader.is_zero()) return;
    for (auto& [id, p] : forwards_) {
      if (p.f.leader == leader || p.released || !p.f.releasable) continue;
      p.released = true;
      p.deadline = now + kOldLeaderGrace;
      p.why =
          "leadership moved and the old leader did not answer; the request may or may not "
          "have been applied";
    }
  }

  // ---- requests waiting for a leader ----

  // Parks a request of this agent's own client for which nothing was
  // proposed or sent to a leader yet, until a leader other than `avoid` is
  // usable (see above). `until`: when its wait ends, if it waited before;
  // else now + kLeaderWait. Returns its answer when that is already past.
  // It is looked at on the next take_due() (next_deadline() is `now`), not
  // here: the caller may be in the middle of handling a request.
  std::optional<Action> wait(Handle h, std::string why, const NodeId& avoid,
                             std::optional<TimePoint> until, TimePoint now) {
    return park(std::move(h), std::move(why), avoid, until, std::nullopt, now);
  }

  // ---- time and the leader ----

  // Removes and returns what is due at `now` given the leader `v`: the
  // forwards whose time is up (abandoned; a read may wait again, and then
  // be dispatched in the same call), the waiters a usable leader can take
  // (kDispatch), and those whose wait is over or whose client is `gone`
  // (the leader's 503 if one was kept, else a 503).
  template <class Gone>
  std::vector<Action> take_due(TimePoint now, const LeaderView& v, Gone&& gone) {
    std::vector<Action> out;
    for (auto it = forwards_.begin(); it != forwards_.end();) {
      if (now < it->second.deadline) {
        ++it;
        continue;
      }
      Pending p = std::move(it->second);
      it = forwards_.erase(it);
      std::string why = std::move(p.why);
      if (auto a = abandon(std::move(p), why, now)) out.push_back(std::move(*a));
    }
    last_check_ = now;
    std::vector<Waiter> waiting;
    std::swap(waiting, waiters_);
    for (Waiter& w : waiting) {
      if (gone(std::as_const(w.handle)) || now >= w.until) {
        out.push_back(expire(std::move(w)));
      } else if (v.usable(w.avoid) || (now - w.since >= kAvoidFor && v.usable({}))) {
        Action a;
        a.kind = Action::Kind::kDispatch;
        a.handle = std::move(w.handle);
        a.wait_until = w.until;
        out.push_back(std::move(a));
      } else {
        w.checked = true;
        waiters_.push_back(std::move(w));
      }
    }
    return out;
  }
  std::vector<Action> take_due(TimePoint now, const LeaderView& v) {
    return take_due(now, v, [](const Handle&) { return false; });
  }

  // Removes and returns everything (the agent stops): a forward may have
  // reached the leader (504), a waiter was never sent (503).
  std::vector<Action> take_all() {
    std::vector<Action> out;
    for (auto& [id, p] : forwards_) {
      out.push_back(answer(Action::Kind::kOutcomeUnknown, std::move(p.handle),
                           "the agent is shutting down; the request may or may not have been "
                           "applied"));
    }
    forwards_.clear();
    for (Waiter& w : waiters_) out.push_back(expire(std::move(w)));
    waiters_.clear();
    return out;
  }

  // When take_due() should run next: the first forward's deadline; while
  // requests wait, at once for one not looked at yet, at the end of a wait
  // or of an avoidance, and at most kLeaderWaitPoll after the last look.
  // nullopt when nothing is pending.
  std::optional<TimePoint> next_deadline() const {
    std::optional<TimePoint> first;
    auto consider = [&first](TimePoint t) {
      if (!first || t < *first) first = t;
    };
    for (const auto& [id, p] : forwards_) consider(p.deadline);
    for (const Waiter& w : waiters_) {
      if (!w.checked) {
        consider(w.since);
        continue;
      }
      consider(last_check_ + kLeaderWaitPoll);
      consider(w.until);
      if (!w.avoid.is_zero() && w.since + kAvoidFor > last_check_) consider(w.since + kAvoidFor);
    }
    return first;
  }

  size_t forwarded() const { return forwards_.size(); }
  size_t waiting() const { return waiters_.size(); }
  bool empty() const { return forwards_.empty() && waiters_.empty(); }

 private:
  struct Pending {
    Handle handle;
    Forward f;
    TimePoint deadline;
    std::string why;  // what a 504 at the deadline says
    bool released = false;
  };
  struct Waiter {
    Handle handle;
    std::string why;
    NodeId avoid;
    TimePoint since;  // when it began this wait
    TimePoint until;  // when its wait for a leader ends
    std::optional<Response> fallback;
    bool checked = false;  // looked at by take_due() since it was parked
  };

  static Action answer(typename Action::Kind kind, Handle h, std::string why) {
    Action a;
    a.kind = kind;
    a.handle = std::move(h);
    a.why = std::move(why);
    return a;
  }
  static Action deliver(Handle h, Response r) {
    Action a;
    a.kind = Action::Kind::kDeliver;
    a.handle = std::move(h);
    a.response = std::move(r);
    return a;
  }
  static Action expire(Waiter w) {
    if (w.fallback) return deliver(std::move(w.handle), std::move(*w.fallback));
    return answer(Action::Kind::kUnavailable, std::move(w.handle), std::move(w.why));
  }

  std::optional<Action> park(Handle h, std::string why, const NodeId& avoid,
                             std::optional<TimePoint> until, std::optional<Response> fallback,
                             TimePoint now) {
    Waiter w{std::move(h),        std::move(why), avoid, now, until.value_or(now + kLeaderWait),
             std::move(fallback), false};
    if (now >= w.until) return expire(std::move(w));
    waiters_.push_back(std::move(w));
    return std::nullopt;
  }
  // Nothing of `p` reached the leader.
  std::optional<Action> not_sent(Pending p, std::string why, TimePoint now) {
    if (p.f.retryable) {
      return park(std::move(p.handle), std::move(why), p.f.leader, p.f.wait_until, std::nullopt,
                  now);
    }
    return answer(Action::Kind::kUnavailable, std::move(p.handle), std::move(why));
  }
  // `p` may have reached the leader, which will not answer.
  std::optional<Action> abandon(Pending p, std::string why, TimePoint now) {
    if (p.f.retryable && p.f.read) {
      return park(std::move(p.handle), std::move(why), p.f.leader, p.f.wait_until, std::nullopt,
                  now);
    }
    return answer(Action::Kind::kOutcomeUnknown, std::move(p.handle), std::move(why));
  }

  std::map<uint64_t, Pending> forwards_;
  uint64_t next_id_ = 1;
  std::vector<Waiter> waiters_;
  TimePoint last_check_{};
};

}  // namespace shoal::node
