#include "tests/sim/sim_log_writer.h"

namespace shoal::sim::raft_sim {

Status SimLogWriter::save(const std::optional<raft::HardState>& hs,
                          std::span<const raft::Entry> entries, bool sync) {
  if (sync && !died_ && hooks_.die_in_sync && hooks_.die_in_sync()) died_ = true;
  if (died_) return store_.save(hs, entries, /*sync=*/false);
  Status st = store_.save(hs, entries, sync);
  if (st.is_ok() && sync && hs && hooks_.on_synced_hard_state) hooks_.on_synced_hard_state(*hs);
  return st;
}

Status SimLogWriter::save_snapshot(const raft::Snapshot& snap) {
  if (died_) return Status::ok();
  return store_.save_snapshot(snap);
}

Status SimLogWriter::create_snapshot(const raft::Snapshot& snap, raft::Index compact_to) {
  if (died_) return Status::ok();
  return store_.create_snapshot(snap, compact_to);
}

}  // namespace shoal::sim::raft_sim
