#include "node/cluster/cluster_machine.h"

#include <spdlog/spdlog.h>

namespace shoal::node {

void ClusterMachine::apply(const raft::Entry& e) {
  const uint64_t index = e.index.value();
  {
    std::unique_lock lk(mu_);
    if (index <= state_.applied()) return;
    if (e.type != raft::EntryType::kNormal || e.data.empty()) {
      state_.skip(index);
    } else {
      const bool was_stalled = state_.upgrade_required();
      scheduler::ApplyResult r = state_.apply(index, e.data);
      if (!was_stalled && state_.upgrade_required()) {
        spdlog::error(
            "upgrade required: log entry {} has a type this agent does not know; it stops "
            "applying the log here and serves stale reads until it is upgraded",
            index);
      }
      std::lock_guard ok(outcomes_mu_);
      outcomes_.emplace_back(index, r);
      if (outcomes_.size() > kOutcomeWindow) outcomes_.pop_front();
    }
    publish_locked();
  }
  if (on_applied_) on_applied_();
}

std::vector<uint8_t> ClusterMachine::snapshot() {
  std::shared_lock lk(mu_);
  return state_.snapshot();
}

void ClusterMachine::restore(const raft::Snapshot& snap) {
  if (Status st = restore_image(snap.data); !st.is_ok()) {
    // A snapshot that this build cannot read is an upgrade problem, never a
    // reason to diverge: stop here (fail-stop, like a failed fsync).
    spdlog::critical("cannot restore the Raft snapshot at index {}: {}", snap.meta.index.value(),
                     st.message());
    std::abort();
  }
}

Status ClusterMachine::restore_image(std::span<const uint8_t> image) {
  auto restored = scheduler::ClusterState::restore(image);
  if (!restored) return restored.status();
  {
    std::unique_lock lk(mu_);
    state_ = std::move(*restored);
    publish_locked();
  }
  if (on_applied_) on_applied_();
  return Status::ok();
}

void ClusterMachine::reset() {
  std::unique_lock lk(mu_);
  state_ = scheduler::ClusterState();
  publish_locked();
}

std::optional<scheduler::ApplyResult> ClusterMachine::take_outcome(uint64_t index) {
  std::lock_guard lk(outcomes_mu_);
  for (auto it = outcomes_.rbegin(); it != outcomes_.rend(); ++it) {
    if (it->first == index) return it->second;
    if (it->first < index) break;
  }
  return std::nullopt;
}

void ClusterMachine::publish_locked() {
  applied_.store(state_.applied(), std::memory_order_release);
  kv_index_.store(state_.kv().index(), std::memory_order_release);
  upgrade_required_.store(state_.upgrade_required(), std::memory_order_relaxed);
}

}  // namespace shoal::node
