// MetaPool: interning of NodeMeta values.
//
// Every member record points at an immutable, shared NodeMeta. Within one
// agent that costs one object per member. In a simulation of N nodes that
// each know N members, N^2 copies of metadata would dominate memory (10,000
// nodes: 10^8 copies), so the simulator hands one pool to every Gossip
// instance and equal metadata is stored once.
//
// Not thread-safe: share a pool only between cores driven from one thread.
// Entries nobody else references any more are swept out as the pool grows,
// so a churning cluster does not leak.
#pragma once

#include <cstddef>
#include <memory>
#include <unordered_set>

#include "gossip/types.h"

namespace shoal::gossip {

class MetaPool {
 public:
  // The pooled object equal to `meta` (inserting it if new).
  std::shared_ptr<const NodeMeta> intern(NodeMeta meta);
  // Pooled objects, including ones about to be swept.
  size_t size() const { return set_.size(); }

 private:
  struct Hash {
    size_t operator()(const std::shared_ptr<const NodeMeta>& m) const;
  };
  struct Eq {
    bool operator()(const std::shared_ptr<const NodeMeta>& a,
                    const std::shared_ptr<const NodeMeta>& b) const {
      return *a == *b;
    }
  };
  void sweep();

  std::unordered_set<std::shared_ptr<const NodeMeta>, Hash, Eq> set_;
  size_t sweep_at_ = 1024;
};

// A hash of the metadata's content (stable within a process).
size_t hash_meta(const NodeMeta& meta);

}  // namespace shoal::gossip
