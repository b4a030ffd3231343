// Raft core: the features beyond the paper's core algorithm, against
// Ongaro's thesis ("Consensus: Bridging Theory and Practice"): pre-vote and
// check-quorum (§9.6), ReadIndex and lease reads (§6.4), leadership transfer
// (§3.10), learners and one-server-at-a-time membership changes (§4.1, §4.2),
// and log compaction with chunked InstallSnapshot (paper §7).
#include <gtest/gtest.h>

#include <algorithm>

#include "raft_test_util.h"

namespace shoal::raft::test {
namespace {

uint64_t elect(Network& net) {
  for (int i = 0; i < 60 && !net.leader(); ++i) net.tick_all();
  EXPECT_TRUE(net.leader().has_value());
  return net.leader().value_or(1);
}

uint64_t other_than(uint64_t a, uint64_t b = 0) {
  for (uint64_t i = 1;; ++i) {
    if (i != a && i != b) return i;
  }
}

ConfChange cc(ConfChange::Kind k, uint64_t node) { return ConfChange{k, nid(node)}; }

// ---------------------------------------------------------------- pre-vote (§9.6)

// Thesis §9.6: with pre-vote, a node that cannot win an election (here: it is
// partitioned away) does not increment its term, so when it returns it does
// not depose the leader.
TEST(RaftFeatures, Thesis_9_6_PreVote_PartitionedNodeDoesNotBumpTerm) {
  Network net(3);
  const uint64_t l = elect(net);
  const Term term = net.raft(l).term();
  const uint64_t f = other_than(l);
  net.isolate(f);
  net.tick_all(100);
  EXPECT_EQ(net.raft(f).term(), term) << "pre-votes failed, so the term stayed";
  EXPECT_NE(net.raft(f).role(), Role::kCandidate);
  net.heal();
  net.tick_all(5);
  EXPECT_EQ(net.leader(), l) << "the returning node did not disrupt the leader";
  EXPECT_EQ(net.raft(l).term(), term);
  EXPECT_EQ(net.raft(f).leader(), nid(l));
}

// The control: without pre-vote (and check-quorum), the same partition
// makes the node's term run away and its return deposes the leader.
TEST(RaftFeatures, Thesis_9_6_WithoutPreVote_PartitionedNodeDisrupts) {
  Network net(3, paper_config);
  const uint64_t l = elect(net);
  const Term term = net.raft(l).term();
  const uint64_t f = other_than(l);
  net.isolate(f);
  net.tick_all(100);
  EXPECT_GT(net.raft(f).term(), term);
  net.heal();
  net.tick_all(25);
  EXPECT_GT(net.raft(l).term(), term) << "the leader was deposed";
}

// A pre-vote grant changes nothing on the voter: no term, no vote, nothing to
// persist; the response carries the term asked about.
TEST(RaftFeatures, Thesis_9_6_PreVoteGrantChangesNothing) {
  Lone n(1, 3, {}, 2, /*paper=*/false);
  Message pv = msg(MessageKind::kPreVote, 2, 1, 3);
  pv.index = Index(1);
  pv.log_term = Term(1);
  ASSERT_TRUE(n.raft->step(pv).is_ok());
  std::vector<Ready> rds;
  auto resp = of_kind(n.drain_msgs(&rds), MessageKind::kPreVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_FALSE(resp[0].reject);
  EXPECT_EQ(resp[0].term, Term(3));
  EXPECT_EQ(n.raft->term(), Term(2));
  EXPECT_TRUE(n.raft->vote().is_zero());
  for (const Ready& rd : rds) EXPECT_FALSE(rd.hard_state.has_value());
  // And a pre-vote for a candidate whose log is behind is refused.
  Lone m(1, 3, {2, 2}, 2, /*paper=*/false);
  pv.log_term = Term(1);
  ASSERT_TRUE(m.raft->step(pv).is_ok());
  resp = of_kind(m.drain_msgs(), MessageKind::kPreVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
}

// ---------------------------------------------------------------- check-quorum

// Check-quorum (thesis §6.2, §9.6): a leader that does not hear from a
// majority within an election timeout steps down.
TEST(RaftFeatures, CheckQuorum_IsolatedLeaderStepsDown) {
  Network net(3);
  const uint64_t l = elect(net);
  net.isolate(l);
  net.tick(l, net.node(l).cfg.election_ticks * 2 + 1);
  EXPECT_EQ(net.raft(l).role(), Role::kFollower);
}

TEST(RaftFeatures, CheckQuorum_LeaderWithMajorityStays) {
  Network net(5);
  const uint64_t l = elect(net);
  net.isolate(other_than(l));
  net.isolate(other_than(l, other_than(l)));
  net.tick_all(50);
  EXPECT_EQ(net.raft(l).role(), Role::kLeader);
}

// Leader stickiness (thesis §9.6): a follower that heard from its leader
// within the election timeout ignores vote requests, unless they come from a
// leadership transfer.
TEST(RaftFeatures, CheckQuorum_FollowerInLeaseIgnoresVoteRequests) {
  Lone n(1, 3, {}, 2, /*paper=*/false);
  Message hb = msg(MessageKind::kHeartbeat, 2, 1, 2);
  ASSERT_TRUE(n.raft->step(hb).is_ok());
  n.drain_msgs();
  Message v = msg(MessageKind::kVote, 3, 1, 3);
  v.index = Index(1);
  v.log_term = Term(1);
  ASSERT_TRUE(n.raft->step(v).is_ok());
  EXPECT_EQ(n.raft->term(), Term(2));
  EXPECT_TRUE(n.drain_msgs().empty());
  v.transfer = true;
  ASSERT_TRUE(n.raft->step(v).is_ok());
  EXPECT_EQ(n.raft->term(), Term(3));
  EXPECT_EQ(n.raft->vote(), nid(3));
}

// ---------------------------------------------------------------- ReadIndex (§6.4)

// Thesis §6.4: the leader records its commit index, confirms leadership with
// a round of heartbeats, and only then the read may proceed.
TEST(RaftFeatures, Thesis_6_4_ReadIndexOnLeaderAfterHeartbeatRound) {
  Network net(3);
  const uint64_t l = elect(net);
  net.propose(l, "x");
  ASSERT_TRUE(net.raft(l).read_index(42).is_ok());
  auto msgs = net.process_ready(l);
  EXPECT_TRUE(net.node(l).read_states.empty()) << "not before a quorum confirmed";
  auto hbs = of_kind(msgs, MessageKind::kHeartbeat);
  ASSERT_EQ(hbs.size(), 2u);
  for (const Message& m : hbs) EXPECT_NE(m.context, 0u);
  for (Message& m : msgs) net.queue().push_back(std::move(m));
  net.stabilize();
  ASSERT_EQ(net.node(l).read_states.size(), 1u);
  EXPECT_EQ(net.node(l).read_states[0].context, 42u);
  EXPECT_EQ(net.node(l).read_states[0].index, net.raft(l).commit());
  EXPECT_GE(net.node(l).sm_index, net.node(l).read_states[0].index);
}

// A leader cut off from the majority cannot confirm the read; when it steps
// down (check-quorum) the read fails instead of hanging.
TEST(RaftFeatures, Thesis_6_4_ReadIndexFailsWhenLeaderCutOff) {
  Network net(3);
  const uint64_t l = elect(net);
  net.isolate(l);
  ASSERT_TRUE(net.raft(l).read_index(43).is_ok());
  net.stabilize();
  EXPECT_TRUE(net.node(l).read_states.empty());
  net.tick(l, net.node(l).cfg.election_ticks * 2 + 1);
  EXPECT_EQ(net.raft(l).role(), Role::kFollower);
  EXPECT_TRUE(net.node(l).read_states.empty());
  EXPECT_EQ(net.node(l).failed_reads, (std::vector<uint64_t>{43}));
}

// Thesis §6.4: "followers could ... issue a request to the leader ... to get
// the current readIndex".
TEST(RaftFeatures, Thesis_6_4_ReadIndexForwardedFromFollower) {
  Network net(3);
  const uint64_t l = elect(net);
  net.propose(l, "x");
  const uint64_t f = other_than(l);
  ASSERT_TRUE(net.raft(f).read_index(7).is_ok());
  net.stabilize();
  ASSERT_EQ(net.node(f).read_states.size(), 1u);
  EXPECT_EQ(net.node(f).read_states[0].context, 7u);
  EXPECT_EQ(net.node(f).read_states[0].index, net.raft(l).commit());
  EXPECT_TRUE(net.node(l).read_states.empty()) << "answered to the follower, not on the leader";
  // A node that knows no leader refuses at once.
  Lone alone(1, 3, {}, 1, false);
  EXPECT_FALSE(alone.raft->read_index(8).is_ok());
}

// Thesis §6.4 step 1: a new leader waits until an entry of its term commits
// before it knows the commit index a read must wait for.
TEST(RaftFeatures, Thesis_6_4_NewLeaderDefersReadsUntilItsEntryCommits) {
  Network net(3);
  net.drop_if = [](const Message& m) { return m.kind == MessageKind::kAppendResp; };
  net.campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_LT(net.raft(1).commit(), net.raft(1).last_index());
  ASSERT_TRUE(net.raft(1).read_index(5).is_ok());
  net.stabilize();
  EXPECT_TRUE(net.node(1).read_states.empty());
  net.drop_if = nullptr;
  net.tick(1, 4);
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].index, net.raft(1).last_index())
      << "the read waits for the leader's own first entry";
}

// Thesis §6.4.1: with lease reads the leader answers at once, without a
// heartbeat round (behind Config::lease_reads, which needs check_quorum).
TEST(RaftFeatures, Thesis_6_4_1_LeaseReadsAnsweredWithoutRound) {
  Network net(3, [](Config& c) { c.lease_reads = true; });
  const uint64_t l = elect(net);
  net.propose(l, "x");
  net.tick(l, 1);  // one heartbeat round acknowledged by a quorum: the lease
  ASSERT_TRUE(net.raft(l).read_index(9).is_ok());
  auto msgs = net.process_ready(l);
  EXPECT_TRUE(of_kind(msgs, MessageKind::kHeartbeat).empty());
  ASSERT_EQ(net.node(l).read_states.size(), 1u);
  EXPECT_EQ(net.node(l).read_states[0].index, net.raft(l).commit());
  // The flag without check-quorum is not a lease: a round is still needed.
  Network plain(3, [](Config& c) {
    c.lease_reads = true;
    c.check_quorum = false;
  });
  const uint64_t pl = elect(plain);
  plain.propose(pl, "x");
  ASSERT_TRUE(plain.raft(pl).read_index(9).is_ok());
  plain.process_ready(pl);
  EXPECT_TRUE(plain.node(pl).read_states.empty());
}

// Thesis §6.4.1: the lease runs from when the last quorum-acknowledged
// heartbeat round was sent, not from the last check-quorum. A leader cut off
// from everyone stays leader until check-quorum notices, but its lease ends
// before the others' election timeout can elect someone else; after that
// its reads need a round (which cannot complete).
TEST(RaftFeatures, Thesis_6_4_1_LeaseExpiresBeforeAnotherLeaderCanExist) {
  Network net(3, [](Config& c) { c.lease_reads = true; });
  const uint64_t l = elect(net);
  net.tick(l, 1);
  net.isolate(l);
  net.tick(l, 8);  // 8 ticks after the last acknowledged round (election 10)
  ASSERT_EQ(net.raft(l).role(), Role::kLeader);
  ASSERT_TRUE(net.raft(l).read_index(11).is_ok());
  net.stabilize();
  EXPECT_TRUE(net.node(l).read_states.empty()) << "a lease read past the lease";
  // A leader transfer revokes the lease for the rest of the term.
  Network t(3, [](Config& c) { c.lease_reads = true; });
  const uint64_t tl = elect(t);
  t.tick(tl, 1);
  const uint64_t target = tl == 1 ? 2 : 1;
  t.isolate(target);
  ASSERT_TRUE(t.raft(tl).transfer_leader(nid(target)).is_ok());
  t.stabilize();
  t.heal();
  ASSERT_TRUE(t.raft(tl).read_index(12).is_ok());
  t.process_ready(tl);
  EXPECT_TRUE(t.node(tl).read_states.empty()) << "no lease read while transferring";
}

// ---------------------------------------------------------------- transfer (§3.10)

// Thesis §3.10: the leader brings the target up to date, then sends
// TimeoutNow; the target starts an election at once and wins.
TEST(RaftFeatures, Thesis_3_10_TransferToUpToDateFollower) {
  Network net(3);
  const uint64_t l = elect(net);
  net.propose(l, "x");
  const Term term = net.raft(l).term();
  const uint64_t t = other_than(l);
  ASSERT_TRUE(net.raft(l).transfer_leader(nid(t)).is_ok());
  net.stabilize();
  EXPECT_EQ(net.leader(), t);
  EXPECT_EQ(net.raft(t).term(), term.next());
  EXPECT_EQ(net.raft(l).role(), Role::kFollower);
  net.propose(t, "y");
  for (uint64_t i : net.ids()) EXPECT_EQ(net.node(i).sm.size(), 2u);
}

TEST(RaftFeatures, Thesis_3_10_TransferToLaggingFollowerCatchesItUpFirst) {
  Network net(3);
  const uint64_t l = elect(net);
  const uint64_t t = other_than(l);
  net.isolate(t);
  for (int i = 0; i < 5; ++i) net.propose(l, "x" + std::to_string(i));
  net.heal();
  ASSERT_LT(net.raft(t).last_index(), net.raft(l).last_index());
  ASSERT_TRUE(net.raft(l).transfer_leader(nid(t)).is_ok());
  for (int i = 0; i < 10 && net.leader() != t; ++i) net.tick(l);
  ASSERT_EQ(net.leader(), t);
  net.propose(t, "after");
  net.tick_all(2);
  for (uint64_t i : net.ids()) EXPECT_EQ(net.node(i).sm.size(), 6u) << "node " << i;
}

// Thesis §3.10: during the transfer the leader refuses client requests; a
// transfer that does not finish within an election timeout is abandoned.
TEST(RaftFeatures, Thesis_3_10_ProposalsRefusedDuringTransferThenAbandoned) {
  Network net(3);
  const uint64_t l = elect(net);
  const uint64_t t = other_than(l);
  net.isolate(t);
  ASSERT_TRUE(net.raft(l).transfer_leader(nid(t)).is_ok());
  EXPECT_TRUE(net.raft(l).transferring());
  EXPECT_EQ(net.raft(l).propose(bytes("no")).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 9)).status().code(),
            StatusCode::kUnavailable);
  net.tick(l, net.node(l).cfg.election_ticks + 1);
  EXPECT_FALSE(net.raft(l).transferring());
  EXPECT_EQ(net.raft(l).role(), Role::kLeader);
  EXPECT_TRUE(net.raft(l).propose(bytes("yes")).is_ok());
}

TEST(RaftFeatures, Thesis_3_10_TransferPreconditions) {
  Network net(3);
  const uint64_t l = elect(net);
  const uint64_t f = other_than(l);
  EXPECT_EQ(net.raft(f).transfer_leader(nid(l)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(net.raft(l).transfer_leader(nid(9)).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(net.raft(l).transfer_leader(nid(l)).is_ok());
  EXPECT_FALSE(net.raft(l).transferring());
}

// ---------------------------------------------------------------- learners (§4.2.1)

// Thesis §4.2.1: a new server joins as a non-voting member: it receives the
// log, but neither votes, campaigns nor counts towards commitment.
TEST(RaftFeatures, Thesis_4_2_1_LearnerReplicatesButNeitherVotesNorCounts) {
  Network net(3);
  const uint64_t l = elect(net);
  net.propose(l, "before");
  net.add_empty(4);
  ASSERT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 4)).is_ok());
  net.stabilize();
  net.tick_all(3);
  EXPECT_EQ(stored_log(net.store(4)), stored_log(net.store(l)));
  EXPECT_TRUE(net.raft(4).conf().is_learner(nid(4)));
  EXPECT_EQ(net.node(4).sm, net.node(l).sm);
  EXPECT_TRUE(net.raft(l).progress().at(nid(4)).is_learner);
  // It never campaigns, even cut off from its leader.
  net.isolate(4);
  net.clear_delivered();
  for (int i = 0; i < 60; ++i) net.raft(4).tick();
  net.stabilize();
  EXPECT_EQ(net.raft(4).role(), Role::kFollower);
  net.raft(4).campaign();
  EXPECT_EQ(net.raft(4).role(), Role::kFollower);
  net.heal();
  // It does not count: leader + learner are not a majority of 3 voters.
  const uint64_t a = other_than(l, 4), b = other_than(l, a);
  net.isolate(a);
  net.isolate(b);
  const Index c = net.raft(l).commit();
  const Index p = net.propose(l, "unsafe");
  EXPECT_EQ(net.raft(4).last_index(), p);
  EXPECT_EQ(net.raft(l).commit(), c);
  net.heal();
  net.tick(l, 4);
  EXPECT_EQ(net.raft(l).commit(), p);
}

// Thesis §4.2.1 then §4.1: the learner, caught up, is promoted and counts.
TEST(RaftFeatures, Thesis_4_1_PromotedLearnerVotesAndCounts) {
  Network net(3);
  const uint64_t l = elect(net);
  net.add_empty(4);
  ASSERT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 4)).is_ok());
  net.stabilize();
  ASSERT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kPromoteLearner, 4)).is_ok());
  net.stabilize();
  for (uint64_t i : net.ids()) {
    EXPECT_TRUE(net.raft(i).conf().is_voter(nid(4))) << "node " << i;
    EXPECT_EQ(net.raft(i).conf().voters.size(), 4u);
  }
  // 4 voters: quorum 3. Leader + 4 + one more commit; leader + 4 do not.
  const uint64_t a = other_than(l, 4), b = other_than(l, a);
  net.isolate(a);
  const Index p = net.propose(l, "three of four");
  EXPECT_EQ(net.raft(l).commit(), p);
  net.isolate(b);
  const Index q = net.propose(l, "two of four");
  EXPECT_LT(net.raft(l).commit(), q);
}

// ---------------------------------------------------------------- membership (§4.1)

// Thesis §4.1 (and the 2015 raft-dev erratum): a leader may not start a
// configuration change until an entry of its own term has committed.
TEST(RaftFeatures, Thesis_4_1_NoChangeBeforeLeaderTermEntryCommits) {
  Network net(3);
  net.drop_if = [](const Message& m) { return m.kind == MessageKind::kAppendResp; };
  net.campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_LT(net.raft(1).commit(), net.raft(1).last_index());
  auto r = net.raft(1).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 4));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(net.raft(1).conf(), voters_conf(3)) << "nothing appended";
  net.drop_if = nullptr;
  net.tick(1, 4);
  ASSERT_EQ(net.raft(1).commit(), net.raft(1).last_index());
  EXPECT_TRUE(net.raft(1).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 4)).is_ok());
}

// Thesis §4.1: one change at a time — the next is refused until the
// previous one has committed. A change also takes effect on each server as
// soon as it is in its log, before it commits.
TEST(RaftFeatures, Thesis_4_1_OnePendingChangeAtATimeAndEffectOnAppend) {
  Network net(3);
  const uint64_t l = elect(net);
  const uint64_t f = other_than(l);
  net.drop_if = [](const Message& m) { return m.kind == MessageKind::kAppendResp; };
  auto r = net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 4));
  ASSERT_TRUE(r.is_ok());
  net.stabilize();
  ASSERT_LT(net.raft(l).commit(), r->first);
  EXPECT_TRUE(net.raft(l).conf().is_learner(nid(4))) << "in force on the leader once appended";
  EXPECT_TRUE(net.raft(f).conf().is_learner(nid(4))) << "in force on a follower once appended";
  EXPECT_EQ(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 5)).status().code(),
            StatusCode::kUnavailable);
  net.drop_if = nullptr;
  net.tick(l, 4);
  ASSERT_GE(net.raft(l).commit(), r->first);
  EXPECT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddLearner, 5)).is_ok());
}

// Thesis §4.1: "a log entry for a configuration change can be removed (if
// leadership changes); in this case, a server must be prepared to fall back
// to the previous configuration in its log."
TEST(RaftFeatures, Thesis_4_1_TruncatedConfigurationEntryReverts) {
  Lone n(1, 3, {}, 2, /*paper=*/false);
  ConfState with4 = voters_conf(3);
  with4.learners = {nid(4)};
  Message a = msg(MessageKind::kAppend, 2, 1, 2);
  a.index = Index(1);
  a.log_term = Term(1);
  a.entries = {Entry{Term(2), Index(2), EntryType::kConfChange, codec::encode(with4)}};
  ASSERT_TRUE(n.raft->step(a).is_ok());
  n.drain_msgs();
  EXPECT_EQ(n.raft->conf(), with4);
  Message b = msg(MessageKind::kAppend, 3, 1, 3);
  b.index = Index(1);
  b.log_term = Term(1);
  b.entries = {Entry{Term(3), Index(2), EntryType::kNoop, {}}};
  ASSERT_TRUE(n.raft->step(b).is_ok());
  n.drain_msgs();
  EXPECT_EQ(n.raft->conf(), voters_conf(3)) << "back to the previous configuration";
  // And a restart agrees.
  Rng rng(3);
  Raft again(n.cfg, n.store, rng);
  EXPECT_EQ(again.conf(), voters_conf(3));
}

TEST(RaftFeatures, Thesis_4_1_AddAndRemoveVoters) {
  Network net(3);
  const uint64_t l = elect(net);
  net.add_empty(4);
  ASSERT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddVoter, 4)).is_ok());
  net.stabilize();
  net.tick_all(3);
  EXPECT_EQ(stored_log(net.store(4)), stored_log(net.store(l)));
  EXPECT_TRUE(net.raft(4).conf().is_voter(nid(4)));
  // Invalid changes are refused.
  EXPECT_EQ(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kAddVoter, 4)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kRemove, 9)).status().code(),
            StatusCode::kInvalidArgument);
  // Remove a follower: the remaining three carry on.
  const uint64_t gone = other_than(l, 4);
  ASSERT_TRUE(net.raft(l).propose_conf_change(cc(ConfChange::Kind::kRemove, gone)).is_ok());
  net.stabilize();
  EXPECT_FALSE(net.raft(l).conf().contains(nid(gone)));
  EXPECT_EQ(net.raft(l).progress().count(nid(gone)), 0u);
  net.crash(gone);
  const Index p = net.propose(l, "without");
  EXPECT_EQ(net.raft(l).commit(), p);
}

// Thesis §4.2.2: a leader that removes itself steps down once the change
// commits; the others elect a new leader.
TEST(RaftFeatures, Thesis_4_2_2_LeaderRemovingItselfStepsDown) {
  Network net(3);
  const uint64_t l = elect(net);
  auto r = net.raft(l).propose_conf_change(cc(ConfChange::Kind::kRemove, l));
  ASSERT_TRUE(r.is_ok());
  net.stabilize();
  EXPECT_GE(net.raft(l).commit(), r->first);
  EXPECT_NE(net.raft(l).role(), Role::kLeader);
  net.crash(l);
  for (int i = 0; i < 60 && !net.leader(); ++i) net.tick_all();
  ASSERT_TRUE(net.leader().has_value());
  EXPECT_NE(*net.leader(), l);
  EXPECT_EQ(net.raft(*net.leader()).conf().voters.size(), 2u);
  net.propose(*net.leader(), "two voters");
}

// ---------------------------------------------------------------- snapshots (paper §7)

// Paper §7: "the leader must occasionally send snapshots to followers that
// lag behind ... InstallSnapshot ... split into chunks". The leader's host
// compacts its log (LogWriter::create_snapshot); a follower that missed the
// compacted entries receives the image in snapshot_chunk_bytes pieces.
TEST(RaftFeatures, Paper_7_FollowerFarBehindGetsChunkedSnapshot) {
  Network net(3, [](Config& c) { c.snapshot_chunk_bytes = 64; });
  const uint64_t l = elect(net);
  const uint64_t lag = other_than(l);
  net.isolate(lag);
  for (int i = 0; i < 60; ++i) net.propose(l, "cmd-" + std::to_string(100 + i));
  net.compact(l);
  auto snap = net.store(l).snapshot();
  ASSERT_TRUE(snap.is_ok());
  ASSERT_GT(snap->data.size(), 64u * 3);
  ASSERT_GT(net.store(l).first_index(), net.raft(lag).last_index() + 1);
  net.heal();
  net.clear_delivered();
  net.tick(l, 6);
  const size_t chunks = net.count_delivered(MessageKind::kSnapshot,
                                            [&](const Message& m) { return m.to == nid(lag); });
  EXPECT_GE(chunks, (snap->data.size() + 63) / 64);
  for (const Message& m : net.delivered()) {
    if (m.kind == MessageKind::kSnapshot) {
      EXPECT_LE(m.data.size(), 64u);
    }
  }
  EXPECT_EQ(net.store(lag).snapshot()->meta, snap->meta);
  EXPECT_EQ(net.node(lag).sm, net.node(l).sm);
  EXPECT_EQ(net.raft(lag).conf(), net.raft(l).conf());
  // Replication continues normally after the snapshot.
  net.propose(l, "after-snap");
  net.tick_all(2);
  EXPECT_EQ(net.node(lag).sm, net.node(l).sm);
  EXPECT_EQ(net.raft(lag).last_index(), net.raft(l).last_index());
}

// Restart from snapshot + log: the core rebuilds term, configuration and log
// from both; the state machine restarts from the image and re-applies the
// committed entries after it.
TEST(RaftFeatures, Paper_7_RestartFromSnapshotPlusLog) {
  Network net(3, [](Config& c) { c.snapshot_chunk_bytes = 50; });
  const uint64_t l = elect(net);
  for (int i = 0; i < 20; ++i) net.propose(l, "a" + std::to_string(i));
  net.tick_all(1);
  for (uint64_t i : net.ids()) net.compact(i);
  for (int i = 0; i < 5; ++i) net.propose(l, "b" + std::to_string(i));
  net.tick_all(1);
  for (uint64_t i : net.ids()) {
    SCOPED_TRACE(i);
    const Term term = net.raft(i).term();
    const Index last = net.raft(i).last_index();
    const auto sm = net.node(i).sm;
    net.crash(i, /*power_cut=*/true);
    net.restart(i);
    EXPECT_EQ(net.raft(i).term(), term);
    EXPECT_EQ(net.raft(i).last_index(), last);
    EXPECT_EQ(net.raft(i).conf(), voters_conf(3));
    EXPECT_GT(net.raft(i).first_index(), Index(2));
    net.flush();
    // The commit index is persisted lazily (unsynced), so after a power cut
    // the node may re-apply a little less at first; never anything else.
    const auto& now = net.node(i).sm;
    ASSERT_LE(now.size(), sm.size());
    EXPECT_GE(now.size(), 20u) << "at least the snapshot image";
    EXPECT_TRUE(std::equal(now.begin(), now.end(), sm.begin()))
        << "image + re-applied log = a prefix of the state before the crash";
    // Once a leader tells it the commit index again, it is all back.
    for (int k = 0; k < 60 && net.node(i).sm != sm; ++k) net.tick_all();
    EXPECT_EQ(net.node(i).sm, sm);
  }
  for (int i = 0; i < 60 && !net.leader(); ++i) net.tick_all();
  ASSERT_TRUE(net.leader().has_value());
  net.propose(*net.leader(), "c");
  net.tick_all(2);
  for (uint64_t i : net.ids()) EXPECT_EQ(net.node(i).sm.size(), 26u) << "node " << i;
}

// Compaction that keeps a tail (compact_to below the snapshot index): a
// follower just behind still gets entries, not a snapshot.
TEST(RaftFeatures, Paper_7_CompactionKeepsTailForSlowFollowers) {
  Network net(3);
  const uint64_t l = elect(net);
  const uint64_t lag = other_than(l);
  for (int i = 0; i < 10; ++i) net.propose(l, "a" + std::to_string(i));
  net.tick_all(1);
  const Index behind = net.raft(lag).last_index();
  net.isolate(lag);
  for (int i = 0; i < 10; ++i) net.propose(l, "b" + std::to_string(i));
  net.compact(l, behind - 2);
  net.heal();
  net.clear_delivered();
  net.tick(l, 6);
  EXPECT_EQ(net.count_delivered(MessageKind::kSnapshot), 0u);
  EXPECT_EQ(net.node(lag).sm, net.node(l).sm);
}

// A snapshot chunk that is lost is sent again (the leader's idle timer).
TEST(RaftFeatures, Paper_7_LostSnapshotChunkResent) {
  Network net(3, [](Config& c) { c.snapshot_chunk_bytes = 32; });
  const uint64_t l = elect(net);
  const uint64_t lag = other_than(l);
  net.isolate(lag);
  for (int i = 0; i < 30; ++i) net.propose(l, "x" + std::to_string(i));
  net.compact(l);
  net.heal();
  int dropped = 0;
  net.drop_if = [&dropped](const Message& m) {
    if (m.kind != MessageKind::kSnapshot || m.offset == 0 || dropped >= 2) return false;
    ++dropped;
    return true;
  };
  for (int i = 0; i < 40 && net.node(lag).sm != net.node(l).sm; ++i) net.tick(l);
  EXPECT_EQ(dropped, 2) << "two chunks were dropped";
  EXPECT_EQ(net.node(lag).sm, net.node(l).sm);
}

// raft.h allows any number of step() calls between Ready cycles. A follower
// that receives a whole snapshot and then, before its next Ready, an append
// continuing after it, must produce a Ready that the host can persist in the
// documented order: save(hard_state, entries) and then save_snapshot().
// A Ready may carry a snapshot and entries that follow it; the host saves
// the snapshot first (raft.h), then the entries.
TEST(RaftFeatures, Paper_7_SnapshotAndFollowingAppendInOneReady) {
  Lone n(1, 3, {}, 2, /*paper=*/false);
  Message s = msg(MessageKind::kSnapshot, 2, 1, 2);
  s.snapshot.index = Index(10);
  s.snapshot.term = Term(2);
  s.snapshot.conf = voters_conf(3);
  s.data = encode_sm({bytes("img")});
  s.done = true;
  ASSERT_TRUE(n.raft->step(s).is_ok());
  Message a = msg(MessageKind::kAppend, 2, 1, 2);
  a.index = Index(10);
  a.log_term = Term(2);
  a.commit = Index(11);
  a.entries = {Entry{Term(2), Index(11), EntryType::kNormal, bytes("after")}};
  ASSERT_TRUE(n.raft->step(a).is_ok());
  Ready rd = n.raft->take_ready();
  ASSERT_TRUE(rd.snapshot.has_value());
  Status st = n.store.save_snapshot(*rd.snapshot);
  if (st.is_ok()) st = n.store.save(rd.hard_state, rd.entries, rd.must_sync);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  n.raft->advance(rd);
  n.drain_msgs();
  EXPECT_EQ(n.store.last_index(), Index(11));
  EXPECT_EQ(n.store.snapshot()->meta.index, Index(10));
  EXPECT_EQ(n.raft->last_index(), Index(11));
}

}  // namespace
}  // namespace shoal::raft::test
