// The gossip timing formulas (gossip/timing.h) as tables, and Lifeguard's
// local health awareness and suspicion confirmations.
#include <gtest/gtest.h>

#include "gossip/suspicion.h"
#include "gossip/timing.h"

namespace shoal::gossip {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(GossipTiming, RetransmitLimitTable) {
  struct Row {
    int mult;
    size_t nodes;
    int want;
  };
  const Row rows[] = {
      {4, 0, 4},      // ceil(log10(1)) = 0, but the factor is at least 1
      {4, 1, 4},      // ceil(log10(2)) = 1
      {4, 9, 4},      // log10(10) = 1
      {4, 10, 8},     // ceil(log10(11)) = 2
      {4, 99, 8},     // log10(100) = 2
      {4, 100, 12},   // ceil(log10(101)) = 3
      {4, 1000, 16},  // ceil(log10(1001)) = 4
      {4, 10000, 20}, {2, 1000, 8}, {1, 5, 1},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(timing::retransmit_limit(r.mult, r.nodes), r.want) << r.mult << " x " << r.nodes;
  }
  EXPECT_EQ(timing::retransmit_limit(0, 1000), 1);
}

TEST(GossipTiming, SuspicionMinTable) {
  struct Row {
    int mult;
    size_t nodes;
    Duration interval;
    Duration want;
  };
  const Row rows[] = {
      {4, 1, seconds(1), seconds(4)},  // log10 floor of 1 for small clusters
      {4, 5, seconds(1), seconds(4)},
      {4, 10, seconds(1), seconds(4)},     // log10(10) = 1
      {4, 100, seconds(1), seconds(8)},    // log10(100) = 2
      {4, 1000, seconds(1), seconds(12)},  // log10(1000) = 3
      {4, 10000, seconds(1), seconds(16)},
      {4, 50, seconds(1), milliseconds(6795)},        // 4 * 1.69897
      {6, 100, seconds(5), seconds(60)},              // wan: 6 * 2 * 5 s
      {3, 3, milliseconds(500), milliseconds(1500)},  // local
  };
  for (const Row& r : rows) {
    EXPECT_EQ(timing::suspicion_min(r.mult, r.nodes, r.interval), r.want)
        << r.mult << " x " << r.nodes << " x " << r.interval.count();
  }
  EXPECT_EQ(timing::suspicion_max(6, seconds(12)), seconds(72));
  EXPECT_EQ(timing::suspicion_max(0, seconds(12)), seconds(12));
}

TEST(GossipTiming, SuspicionExpectedConfirmations) {
  EXPECT_EQ(timing::suspicion_expected(4, 1000), 2);  // mult - 2
  EXPECT_EQ(timing::suspicion_expected(4, 4), 2);     // 4 - 2 >= 2: enough others
  EXPECT_EQ(timing::suspicion_expected(4, 3), 0);     // too small to confirm
  EXPECT_EQ(timing::suspicion_expected(6, 100), 4);
  EXPECT_EQ(timing::suspicion_expected(2, 100), 0);
  EXPECT_EQ(timing::suspicion_expected(1, 100), 0);
}

TEST(GossipTiming, SuspicionTimeoutShrinksLogarithmically) {
  const Duration min = seconds(2);
  const Duration max = seconds(30);
  struct Row {
    int confirmations;
    int expected;
    Duration want;
  };
  const Row rows[] = {
      {0, 3, seconds(30)},          // no confirmation: max
      {1, 3, milliseconds(16000)},  // 30 - 28 * log(2)/log(4) = 16
      {2, 3, milliseconds(7810)},   // 30 - 28 * log(3)/log(4) = 7.8105...
      {3, 3, seconds(2)},           // all expected: min
      {4, 3, seconds(2)},           // more than expected: still min
      {0, 0, seconds(2)},           // no confirmations expected: min at once
      {5, 0, seconds(2)},          {-1, 3, seconds(30)},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(timing::suspicion_timeout(r.confirmations, r.expected, min, max), r.want)
        << r.confirmations << "/" << r.expected;
  }
  // Monotone: every confirmation shortens the timeout.
  Duration prev = Duration::max();
  for (int c = 0; c <= 5; ++c) {
    const Duration t = timing::suspicion_timeout(c, 5, min, max);
    EXPECT_LT(t, prev);
    EXPECT_GE(t, min);
    prev = t;
  }
  // max <= min degenerates to min.
  EXPECT_EQ(timing::suspicion_timeout(0, 3, seconds(5), seconds(5)), seconds(5));
}

TEST(GossipTiming, PushPullIntervalScalesWithClusterSize) {
  const Duration base = seconds(30);
  EXPECT_EQ(timing::push_pull_interval(base, 1), seconds(30));
  EXPECT_EQ(timing::push_pull_interval(base, 32), seconds(30));
  EXPECT_EQ(timing::push_pull_interval(base, 33), seconds(60));  // ceil(0.04) + 1
  EXPECT_EQ(timing::push_pull_interval(base, 64), seconds(60));
  EXPECT_EQ(timing::push_pull_interval(base, 65), seconds(90));
  EXPECT_EQ(timing::push_pull_interval(base, 1000), seconds(180));  // ceil(4.97) + 1
  EXPECT_EQ(timing::push_pull_interval(base, 10000), seconds(300));
}

TEST(GossipTiming, ScaleByHealth) {
  EXPECT_EQ(timing::scale_by_health(milliseconds(500), 0), milliseconds(500));
  EXPECT_EQ(timing::scale_by_health(milliseconds(500), 3), seconds(2));
  EXPECT_EQ(timing::scale_by_health(seconds(1), 7), seconds(8));
  EXPECT_EQ(timing::scale_by_health(seconds(1), -2), seconds(1));
}

TEST(GossipAwareness, ScoreIsClampedBetweenZeroAndMaxMinusOne) {
  timing::Awareness a(8);
  EXPECT_EQ(a.score(), 0);
  EXPECT_EQ(a.apply(-1), 0);  // never below healthy
  EXPECT_EQ(a.apply(3), 3);
  EXPECT_EQ(a.scale(seconds(1)), seconds(4));
  EXPECT_EQ(a.apply(10), 7);  // ceiling: max - 1
  EXPECT_EQ(a.scale(milliseconds(500)), seconds(4));
  EXPECT_EQ(a.apply(-2), 5);
  timing::Awareness one(1);  // max 1: always healthy
  EXPECT_EQ(one.apply(5), 0);
  timing::Awareness bad(0);  // nonsense config behaves like max 1
  EXPECT_EQ(bad.apply(5), 0);
}

TEST(GossipSuspicion, IndependentConfirmationsShortenTheDeadline) {
  const TimePoint start = time_at(seconds(100));
  const NodeId accuser(1, 1);
  Suspicion s(start, accuser, 3, seconds(2), seconds(30));
  EXPECT_EQ(s.deadline(), start + seconds(30));
  EXPECT_FALSE(s.confirm(accuser));  // the accuser does not confirm itself
  EXPECT_TRUE(s.confirm(NodeId(2, 2)));
  EXPECT_EQ(s.deadline(), start + seconds(16));
  EXPECT_FALSE(s.confirm(NodeId(2, 2)));  // repeats do not count
  EXPECT_EQ(s.confirmations(), 1);
  EXPECT_TRUE(s.confirm(NodeId(3, 3)));
  EXPECT_TRUE(s.confirm(NodeId(4, 4)));
  EXPECT_EQ(s.deadline(), start + seconds(2));
  EXPECT_FALSE(s.confirm(NodeId(5, 5)));  // beyond expected: nothing new
  EXPECT_EQ(s.confirmations(), 3);
}

TEST(GossipSuspicion, NoExpectedConfirmationsMeansMinimum) {
  const TimePoint start = time_at(seconds(1));
  Suspicion s(start, NodeId(1, 1), 0, seconds(4), seconds(24));
  EXPECT_EQ(s.deadline(), start + seconds(4));
  EXPECT_FALSE(s.confirm(NodeId(2, 2)));
  EXPECT_EQ(s.deadline(), start + seconds(4));
}

}  // namespace
}  // namespace shoal::gossip
