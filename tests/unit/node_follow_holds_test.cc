// FollowHolds (node/cluster/follow_holds.h): which follow requests a voter holds as
// long polls, and when each becomes due.
#include <gtest/gtest.h>

#include "node/cluster/follow_holds.h"

namespace shoal::node {
namespace {

TimePoint at(Duration d) { return time_at(d); }

FollowRequest poll(uint64_t id, uint64_t after, uint64_t term, uint32_t wait_ms = 1000) {
  FollowRequest r;
  r.id = id;
  r.after = after;
  r.term = term;
  r.wait_ms = wait_ms;
  return r;
}

// The voter: applied up to 10, term 3, leader 1, serving.
FollowView view() { return FollowView{10, 3, NodeId(0, 1), true}; }

TEST(FollowHolds, HoldsOnlyACaughtUpLongPollInTheVotersTerm) {
  FollowHolds<int> h(10);
  EXPECT_TRUE(h.should_hold(poll(1, 10, 3), view()));
  EXPECT_FALSE(h.should_hold(poll(1, 9, 3), view())) << "entries to send";
  EXPECT_FALSE(h.should_hold(poll(1, 10, 2), view())) << "an older term is news";
  EXPECT_FALSE(h.should_hold(poll(1, 10, 4), view())) << "so is a newer one";
  EXPECT_FALSE(h.should_hold(poll(1, 10, 3, 0), view())) << "no wait asked";
  FollowRequest probe = poll(1, 10, 3);
  probe.max_bytes = 0;
  EXPECT_FALSE(h.should_hold(probe, view())) << "a probe";
  FollowRequest snapshot = poll(1, 10, 3);
  snapshot.snapshot_index = 5;
  EXPECT_FALSE(h.should_hold(snapshot, view())) << "a snapshot transfer";
  FollowView stopping = view();
  stopping.serving = false;
  EXPECT_FALSE(h.should_hold(poll(1, 10, 3), stopping));
  // No leader known yet (an election): held until one is.
  FollowView electing = view();
  electing.leader = NodeId();
  EXPECT_TRUE(h.should_hold(poll(1, 10, 3), electing));
}

TEST(FollowHolds, RoomIsBounded) {
  FollowHolds<int> h(2);
  h.hold(poll(1, 10, 3), 1, at(0s), view());
  h.hold(poll(2, 10, 3), 2, at(0s), view());
  EXPECT_FALSE(h.should_hold(poll(3, 10, 3), view()));
}

TEST(FollowHolds, AHeldRequestIsDueOnAnApplyATermOrLeaderChangeOrItsWait) {
  FollowHolds<int> h(10);
  h.hold(poll(1, 10, 3, 1000), 1, at(0s), view());
  h.hold(poll(2, 12, 3, 1000), 2, at(0s), view());   // ahead of this voter
  h.hold(poll(3, 10, 3, 60000), 3, at(0s), view());  // wait capped at 5 s
  EXPECT_TRUE(h.take_due(at(500ms), view()).empty());
  EXPECT_EQ(h.next_deadline(), at(1s));

  FollowView applied = view();
  applied.applied = 11;
  auto due = h.take_due(at(600ms), applied);
  ASSERT_EQ(due.size(), 2u) << "everything after index 10";
  EXPECT_EQ(due[0].reply, 1);
  EXPECT_EQ(due[1].reply, 3);
  EXPECT_EQ(h.size(), 1u);

  FollowView new_leader = applied;
  new_leader.leader = NodeId(0, 2);
  due = h.take_due(at(700ms), new_leader);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].req.id, 2u);
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(h.next_deadline());

  h.hold(poll(4, 11, 3, 60000), 4, at(1s), applied);
  EXPECT_EQ(h.next_deadline(), at(6s)) << "capped at kMaxFollowWaitMs";
  EXPECT_TRUE(h.take_due(at(5999ms), applied).empty());
  EXPECT_EQ(h.take_due(at(6s), applied).size(), 1u);

  h.hold(poll(5, 11, 3), 5, at(7s), applied);
  FollowView next_term = applied;
  next_term.term = 4;
  next_term.leader = NodeId();
  EXPECT_EQ(h.take_due(at(7s), next_term).size(), 1u) << "an election started";
}

TEST(FollowHolds, AStoppingVoterAnswersEverything) {
  FollowHolds<int> h(10);
  h.hold(poll(1, 10, 3), 1, at(0s), view());
  h.hold(poll(2, 10, 3), 2, at(0s), view());
  EXPECT_EQ(h.take_all().size(), 2u);
  EXPECT_TRUE(h.empty());
  h.hold(poll(3, 10, 3), 3, at(0s), view());
  FollowView stopping = view();
  stopping.serving = false;
  EXPECT_EQ(h.take_due(at(0s), stopping).size(), 1u);
}

}  // namespace
}  // namespace shoal::node
