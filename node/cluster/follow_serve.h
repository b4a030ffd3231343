// How a voter answers a follow request (pure: what the voter knows and the
// log batch its RaftHost read come in; the FollowResponse goes out).
//
// A voter answers in one or two steps: follow_answer() answers at once what
// needs no log read (a probe, or an agent with no Raft log), and otherwise
// gives the response's head (cluster id, leader, term, configuration) and
// the byte limit for RaftHost::read_committed(); fill_follow_answer() adds
// the entries, or a chunk of the snapshot, once the read is done. Whether to
// answer now or hold the request as a long poll is node/cluster/follow_holds.h.
//
// The agent (node/cluster/cluster_follow.cc) and the multi-agent simulation
// (tests/sim/cluster_harness.h) share these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ids.h"
#include "core/status.h"
#include "node/cluster/cluster_rpc.h"
#include "node/consensus/raft_host.h"

namespace shoal::node {

// The largest snapshot chunk in one answer.
inline constexpr size_t kFollowSnapshotChunk = 4u << 20;

// What the voter knows when it answers.
struct FollowServerView {
  std::string cluster_id;
  NodeId leader;
  uint64_t term = 0;
  raft::ConfState conf;
  // The voter keeps a Raft log (observers do not: they answer an error).
  bool has_log = false;
  // `conf` is committed: no configuration change is pending.
  bool conf_committed = false;
  // The highest commit index it knows (what a probe reports).
  uint64_t commit = 0;
};

struct FollowAnswer {
  FollowResponse response;  // complete unless `read_bytes` is set
  // Read the log after req.after with at most this many bytes of entries,
  // then fill_follow_answer(); 0: `response` is the whole answer.
  size_t read_bytes = 0;
};
FollowAnswer follow_answer(const FollowRequest& req, const FollowServerView& view);

// Completes `resp` (from follow_answer()) with the read's outcome: the
// entries, or the snapshot chunk at the offset the observer asks for, or an
// error.
void fill_follow_answer(const FollowRequest& req, Result<LogFollowBatch> batch,
                        FollowResponse& resp);

}  // namespace shoal::node
