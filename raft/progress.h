// What a leader knows about one follower's log (etcd-raft's Progress): the
// highest index known to match, the next index to send, and the flow-control
// state that decides whether another AppendEntries may go out now.
//
//   kProbe      we do not know where the follower's log ends: one append at
//               a time, until an acceptance tells us;
//   kReplicate  steady state: appends are pipelined, up to max_inflight
//               messages not yet acknowledged;
//   kSnapshot   the entries it needs are compacted: a snapshot is being
//               streamed in chunks, one chunk in flight.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "raft/types.h"

namespace shoal::raft {

struct Progress {
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  Index match;
  Index next;
  State state = State::kProbe;
  bool probe_sent = false;      // kProbe: an append is outstanding
  std::deque<Index> inflights;  // kReplicate: last index of each unacked append
  bool recent_active = false;   // heard from it since the last check-quorum
  int stall_ticks = 0;          // ticks behind the leader with match not moving
  bool is_learner = false;
  Index commit_sent;  // the commit index in the last append sent to it

  // kSnapshot: the image being sent and the bytes the follower confirmed.
  std::shared_ptr<const Snapshot> snapshot;
  uint64_t snapshot_acked = 0;
  int snapshot_idle_ticks = 0;  // ticks since the last chunk was acknowledged

  bool paused(size_t max_inflight) const {
    switch (state) {
      case State::kProbe:
        return probe_sent;
      case State::kReplicate:
        return inflights.size() >= max_inflight;
      case State::kSnapshot:
        return true;
    }
    return true;
  }
  void become_probe() {
    state = State::kProbe;
    probe_sent = false;
    inflights.clear();
    snapshot.reset();
    next = match + 1;
  }
  void become_replicate() {
    state = State::kReplicate;
    probe_sent = false;
    inflights.clear();
    snapshot.reset();
    next = match + 1;
  }
  void become_snapshot(std::shared_ptr<const Snapshot> snap) {
    state = State::kSnapshot;
    probe_sent = false;
    inflights.clear();
    snapshot = std::move(snap);
    snapshot_acked = 0;
    snapshot_idle_ticks = 0;
  }
  // An acceptance up to `i`. Returns true if it moved match forward.
  bool update(Index i) {
    bool moved = false;
    if (i > match) {
      match = i;
      moved = true;
      probe_sent = false;
      stall_ticks = 0;
    }
    if (next < i + 1) next = i + 1;
    while (!inflights.empty() && inflights.front() <= i) inflights.pop_front();
    return moved;
  }
};

}  // namespace shoal::raft
