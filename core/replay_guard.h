// ReplayGuard: per-sender replay protection for authenticated packets
// (DESIGN.md §8). For each sender it keeps the newest boot epoch seen and a
// sliding window of the last kWindow packet counters of that epoch.
//
//   older epoch                              -> rejected
//   newer epoch (the sender restarted)       -> accepted, window reset
//   same epoch, counter above the window     -> accepted, window slides
//   same epoch, counter inside, not yet seen -> accepted (reordering)
//   same epoch, counter seen or below window -> rejected
//
// check() is const and cheap; accept() records a packet and must be called
// only after the packet authenticated, so forged headers never move state.
// Known limit: a receiver that restarts (or evicts a sender when more than
// max_senders are tracked) forgets that sender's window; the epoch check still
// rejects packets from the sender's earlier runs once a newer one is seen.
#pragma once

#include <bitset>
#include <cstdint>
#include <unordered_map>

#include "core/ids.h"
#include "core/status.h"

namespace shoal {

class ReplayGuard {
 public:
  static constexpr uint64_t kWindow = 1024;
  static constexpr size_t kDefaultMaxSenders = 65536;

  explicit ReplayGuard(size_t max_senders = kDefaultMaxSenders);

  Status check(const NodeId& sender, uint64_t epoch, uint64_t counter) const;
  void accept(const NodeId& sender, uint64_t epoch, uint64_t counter);

  size_t tracked_senders() const { return windows_.size(); }

 private:
  struct Window {
    uint64_t epoch = 0;
    uint64_t highest = 0;       // highest counter accepted in this epoch
    std::bitset<kWindow> seen;  // bit (c % kWindow) for c in (highest-kWindow, highest]
    uint64_t last_use = 0;      // for eviction when the table is full
  };
  void evict_one();

  size_t max_senders_;
  uint64_t use_clock_ = 0;
  std::unordered_map<NodeId, Window> windows_;
};

}  // namespace shoal
