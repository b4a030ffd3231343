#include "core/replay_guard.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

const NodeId kA(0, 1);
const NodeId kB(0, 2);

// Checks and, when accepted, records; returns the code.
StatusCode offer(ReplayGuard& g, const NodeId& id, uint64_t epoch, uint64_t counter) {
  Status s = g.check(id, epoch, counter);
  if (s.is_ok()) g.accept(id, epoch, counter);
  return s.code();
}

TEST(ReplayGuardTest, Table) {
  constexpr auto kOk = StatusCode::kOk;
  constexpr auto kReplay = StatusCode::kReplay;
  struct Step {
    uint64_t epoch, counter;
    StatusCode want;
    const char* why;
  } steps[] = {
      {5, 0, kOk, "first packet of a sender"},
      {5, 0, kReplay, "exact replay"},
      {5, 1, kOk, "next counter"},
      {5, 10, kOk, "gap forward"},
      {5, 7, kOk, "late packet inside the window (reordering)"},
      {5, 7, kReplay, "late packet replayed"},
      {5, 10, kReplay, "replay of the highest"},
      {4, 100, kReplay, "older boot epoch"},
      {5, 10 + ReplayGuard::kWindow, kOk, "slides the window"},
      {5, 10, kReplay, "now below the window"},
      {5, 11, kOk, "oldest counter still inside the window, never seen"},
      {5, 9, kReplay, "below the window, never seen"},
      {6, 0, kOk, "sender restarted: newer epoch resets"},
      {5, 5000, kReplay, "packet from the sender's previous run"},
      {6, 0, kReplay, "replay within the new epoch"},
  };
  ReplayGuard g;
  for (const auto& s : steps) {
    EXPECT_EQ(offer(g, kA, s.epoch, s.counter), s.want) << s.why;
  }
}

TEST(ReplayGuardTest, SendersAreIndependent) {
  ReplayGuard g;
  EXPECT_EQ(offer(g, kA, 1, 0), StatusCode::kOk);
  EXPECT_EQ(offer(g, kB, 1, 0), StatusCode::kOk);
  EXPECT_EQ(offer(g, kB, 1, 0), StatusCode::kReplay);
  EXPECT_EQ(g.tracked_senders(), 2u);
}

TEST(ReplayGuardTest, CheckDoesNotRecord) {
  ReplayGuard g;
  EXPECT_TRUE(g.check(kA, 1, 0).is_ok());
  EXPECT_TRUE(g.check(kA, 1, 0).is_ok());
  EXPECT_EQ(g.tracked_senders(), 0u);
}

TEST(ReplayGuardTest, WindowSlidesBitByBit) {
  ReplayGuard g;
  // Accept every even counter up to 3 windows, then every odd one that is
  // still inside the window must be accepted exactly once.
  const uint64_t top = 3 * ReplayGuard::kWindow;
  for (uint64_t c = 0; c <= top; c += 2) ASSERT_EQ(offer(g, kA, 1, c), StatusCode::kOk) << c;
  for (uint64_t c = top - ReplayGuard::kWindow + 1; c < top; c += 2) {
    ASSERT_EQ(offer(g, kA, 1, c), StatusCode::kOk) << c;
    ASSERT_EQ(offer(g, kA, 1, c), StatusCode::kReplay) << c;
  }
  for (uint64_t c = top - ReplayGuard::kWindow + 2; c <= top; c += 2) {
    ASSERT_EQ(offer(g, kA, 1, c), StatusCode::kReplay) << c;
  }
}

TEST(ReplayGuardTest, BoundedSendersEvictLeastRecentlyUsed) {
  ReplayGuard g(2);
  EXPECT_EQ(offer(g, kA, 1, 0), StatusCode::kOk);
  EXPECT_EQ(offer(g, kB, 1, 0), StatusCode::kOk);
  EXPECT_EQ(offer(g, kA, 1, 1), StatusCode::kOk);  // A is now the most recent
  EXPECT_EQ(offer(g, NodeId(0, 3), 1, 0), StatusCode::kOk);
  EXPECT_EQ(g.tracked_senders(), 2u);
  EXPECT_EQ(offer(g, kA, 1, 1), StatusCode::kReplay);  // A was kept
  EXPECT_EQ(offer(g, kB, 1, 0), StatusCode::kOk);      // B was forgotten (documented limit)
}

}  // namespace
}  // namespace shoal
