// FollowHolds: the follow requests a voter holds as long polls (pure: the
// voter's view and the time come in; which requests to answer goes out).
//
// An observer that has applied everything the voter has asks with a wait
// (FollowRequest::wait_ms, node/cluster/cluster_rpc.h). The voter holds such a
// request only while holding it loses nothing: it is not a probe or a
// snapshot transfer, the observer is in the voter's term (a newer or older
// term is news to send now), and the voter has applied nothing after the
// observer's index. A held request becomes due as soon as that changes: an
// entry applied after its index, another term or leader than when it was
// held, the voter no longer serving the log, or its wait (capped at
// kMaxFollowWaitMs) over. `Reply` is whatever answers it (an RpcReply in
// the agent).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/time.h"
#include "node/cluster/cluster_rpc.h"

namespace shoal::node {

// What the voter knows when it decides.
struct FollowView {
  uint64_t applied = 0;
  uint64_t term = 0;
  NodeId leader;
  bool serving = true;  // it has a Raft log and is not stopping
};

template <class Reply>
class FollowHolds {
 public:
  struct Due {
    FollowRequest req;
    Reply reply;
  };

  explicit FollowHolds(size_t max_held) : max_held_(max_held) {}

  // Whether `req` should wait rather than be answered now.
  bool should_hold(const FollowRequest& req, const FollowView& v) const {
    return v.serving && req.wait_ms > 0 && !req.probe() && req.snapshot_index == 0 &&
           req.term == v.term && v.applied <= req.after && held_.size() < max_held_;
  }

  void hold(FollowRequest req, Reply reply, TimePoint now, const FollowView& v) {
    const auto wait = std::chrono::milliseconds(std::min(req.wait_ms, kMaxFollowWaitMs));
    held_.push_back(Held{std::move(req), std::move(reply), now + wait, v.leader});
  }

  // Removes and returns the held requests that are due (see above).
  std::vector<Due> take_due(TimePoint now, const FollowView& v) {
    std::vector<Due> due;
    std::erase_if(held_, [&](Held& h) {
      const bool is_due = !v.serving || v.applied > h.req.after || h.req.term != v.term ||
                          h.leader != v.leader || now >= h.until;
      if (is_due) due.push_back(Due{std::move(h.req), std::move(h.reply)});
      return is_due;
    });
    return due;
  }

  // Removes and returns every held request (the voter stops).
  std::vector<Due> take_all() {
    std::vector<Due> all;
    for (Held& h : held_) all.push_back(Due{std::move(h.req), std::move(h.reply)});
    held_.clear();
    return all;
  }

  // When the first held request's wait ends; nullopt when none is held.
  std::optional<TimePoint> next_deadline() const {
    std::optional<TimePoint> first;
    for (const Held& h : held_) {
      if (!first || h.until < *first) first = h.until;
    }
    return first;
  }

  size_t size() const { return held_.size(); }
  bool empty() const { return held_.empty(); }

 private:
  struct Held {
    FollowRequest req;
    Reply reply;
    TimePoint until;
    NodeId leader;  // the leader the voter knew when it held it
  };
  size_t max_held_;
  std::vector<Held> held_;
};

}  // namespace shoal::node
