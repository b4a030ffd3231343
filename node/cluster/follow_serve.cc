// follow_answer / fill_follow_answer: see follow_serve.h.
#include "node/cluster/follow_serve.h"

#include <algorithm>

#include "node/cluster/follow_client.h"

namespace shoal::node {

FollowAnswer follow_answer(const FollowRequest& req, const FollowServerView& view) {
  FollowAnswer a;
  FollowResponse& r = a.response;
  r.id = req.id;
  r.cluster_id = view.cluster_id;
  r.leader = view.leader;
  r.term = view.term;
  r.conf = view.conf;
  if (!view.has_log) {
    r.error = "this agent keeps no Raft log (it is an observer)";
    return a;
  }
  r.conf_committed = view.conf_committed;
  if (req.probe()) {
    r.commit = view.commit;
    return a;
  }
  // At least one byte: a read of 0 would mean "no read".
  a.read_bytes = std::max<size_t>(1, std::min<uint32_t>(req.max_bytes, kFollowMaxBytes));
  return a;
}

void fill_follow_answer(const FollowRequest& req, Result<LogFollowBatch> batch,
                        FollowResponse& resp) {
  if (!batch) {
    resp.error = batch.status().message();
    return;
  }
  resp.commit = batch->commit;
  if (!batch->snapshot) {
    resp.entries = std::move(batch->entries);
    return;
  }
  const raft::Snapshot& snap = *batch->snapshot;
  // Continuing a transfer of this very snapshot: from where the observer is.
  const uint64_t offset = req.snapshot_index == snap.meta.index.value() ? req.snapshot_offset : 0;
  if (offset > snap.data.size()) {
    resp.error = "snapshot offset beyond its size";
    return;
  }
  const size_t n = std::min<size_t>(kFollowSnapshotChunk, snap.data.size() - offset);
  resp.has_snapshot = true;
  resp.snapshot_meta = snap.meta;
  resp.snapshot_size = snap.data.size();
  resp.snapshot_offset = offset;
  resp.snapshot_chunk.assign(snap.data.begin() + static_cast<std::ptrdiff_t>(offset),
                             snap.data.begin() + static_cast<std::ptrdiff_t>(offset + n));
}

}  // namespace shoal::node
