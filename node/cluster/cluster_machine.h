// ClusterMachine: the replicated state (scheduler/cluster_state.h) as the
// agent holds it. It is the RaftHost's StateMachine on voters and learners,
// and the target of the followed log on observers; HTTP handlers read it.
//
// Threads: apply()/snapshot()/restore() run on the Raft loop thread (or the
// agent's thread for an observer); readers on the agent's thread. A
// shared_mutex keeps them apart; a reader holds it only for a lookup.
//
// Proposers learn what their entry did through take_outcome(index): apply()
// records the outcome of the last kOutcomeWindow entries, and the proposal's
// completion (which runs after the entry is applied) takes it out.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <utility>

#include "node/consensus/raft_host.h"
#include "scheduler/cluster_state.h"

namespace shoal::node {

class ClusterMachine : public StateMachine {
 public:
  static constexpr size_t kOutcomeWindow = 1 << 16;

  // StateMachine. Entries at or below applied() are ignored (an observer
  // that becomes a learner may see the log again from its start).
  void apply(const raft::Entry& e) override;
  std::vector<uint8_t> snapshot() override;
  void restore(const raft::Snapshot& snap) override;

  // Replaces the state with a snapshot image (an observer's catch-up).
  [[nodiscard]] Status restore_image(std::span<const uint8_t> image);
  // Back to the empty state (before a RaftHost replays the log from 1).
  void reset();

  // Runs f(const scheduler::ClusterState&) under the read lock.
  template <class F>
  auto read(F&& f) const {
    std::shared_lock lk(mu_);
    return f(state_);
  }
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  uint64_t kv_index() const { return kv_index_.load(std::memory_order_acquire); }
  bool upgrade_required() const { return upgrade_required_.load(std::memory_order_relaxed); }

  // What applying the entry at `index` did, once; nullopt if it is not (or
  // no longer) known.
  std::optional<scheduler::ApplyResult> take_outcome(uint64_t index);

  // Called after every apply that moved applied() (on the applying thread;
  // must not block).
  void set_on_applied(std::function<void()> f) { on_applied_ = std::move(f); }

 private:
  void publish_locked();

  mutable std::shared_mutex mu_;
  scheduler::ClusterState state_;
  std::mutex outcomes_mu_;
  std::deque<std::pair<uint64_t, scheduler::ApplyResult>> outcomes_;
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> kv_index_{0};
  std::atomic<bool> upgrade_required_{false};
  std::function<void()> on_applied_;
};

}  // namespace shoal::node
