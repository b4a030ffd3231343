// Helpers the gossip simulation tests share (gtest assertions inside, so not
// part of gossip_harness.h, which shoal-bench uses too).
#pragma once

#include <gtest/gtest.h>

#include <chrono>

#include "tests/sim/gossip_harness.h"

namespace shoal::sim::gossip_sim {

// Runs in steps of one second until `done` holds or `limit` passes.
template <class F>
bool run_until(GossipHarness& h, Duration limit, F&& done) {
  const TimePoint end = h.sim().now() + limit;
  while (h.sim().now() < end) {
    EXPECT_TRUE(h.sim().run_for(std::chrono::seconds(1)).is_ok());
    if (done()) return true;
  }
  return done();
}

// Every node has seen every other node alive at some point.
inline bool everyone_converged(const GossipHarness& h) {
  for (NodeIndex i = 0; i < h.nodes(); ++i) {
    if (!h.converged_at(i)) return false;
  }
  return true;
}

}  // namespace shoal::sim::gossip_sim
