// Raft core: log replication and safety, against the Raft paper ("In Search
// of an Understandable Consensus Algorithm", extended version) §5.3, §5.4.2,
// §5.4.3 and §5.5, plus flow control (batching, pipelining, lost appends).
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace shoal::raft::test {
namespace {

Message append(uint64_t from, uint64_t to, uint64_t term, uint64_t prev, uint64_t prev_term,
               std::vector<uint64_t> entry_terms, uint64_t commit = 0) {
  Message m = msg(MessageKind::kAppend, from, to, term);
  m.index = Index(prev);
  m.log_term = Term(prev_term);
  m.commit = Index(commit);
  for (size_t k = 0; k < entry_terms.size(); ++k) {
    m.entries.push_back(Entry{Term(entry_terms[k]), Index(prev + k + 1), EntryType::kNormal,
                              bytes("n" + std::to_string(prev + k + 1))});
  }
  return m;
}

Message append_resp(uint64_t from, uint64_t to, uint64_t term, uint64_t index) {
  Message m = msg(MessageKind::kAppendResp, from, to, term);
  m.index = Index(index);
  return m;
}

std::vector<Message> acks(const std::vector<Message>& msgs) {
  return of_kind(msgs, MessageKind::kAppendResp);
}

// ---------------------------------------------------------------- §5.3 basics

// §5.3: "Once a leader has been elected, it begins servicing client
// requests ... issues AppendEntries RPCs in parallel to each of the other
// servers ... When the entry has been safely replicated, the leader applies
// the entry to its state machine". Followers apply it once they learn the
// commit index.
TEST(RaftReplication, Paper_5_3_LeaderReplicatesCommitsAndFollowersApply) {
  Network net(3, paper_config);
  net.campaign(1);
  const Index a = net.propose(1, "a");
  const Index b = net.propose(1, "b");
  EXPECT_EQ(b, a + 1);
  EXPECT_EQ(net.raft(1).commit(), b);
  for (uint64_t i : {1, 2, 3}) {
    SCOPED_TRACE(i);
    EXPECT_EQ(stored_log(net.store(i)), stored_log(net.store(1)));
    EXPECT_EQ(net.raft(i).commit(), b) << "followers learn the commit index at once";
    EXPECT_EQ(net.node(i).sm, (std::vector<std::vector<uint8_t>>{bytes("a"), bytes("b")}));
  }
}

// §5.3: "A log entry is committed once the leader that created the entry has
// replicated it on a majority of the servers".
TEST(RaftReplication, Paper_5_3_CommitNeedsMajority) {
  Network net(5, paper_config);
  net.campaign(1);
  net.isolate(4);
  net.isolate(5);
  const Index a = net.propose(1, "a");
  EXPECT_EQ(net.raft(1).commit(), a) << "3 of 5 is a majority";
  net.isolate(3);
  const Index b = net.propose(1, "b");
  EXPECT_EQ(net.raft(1).commit(), a) << "2 of 5 is not";
  EXPECT_EQ(net.raft(2).last_index(), b);
  net.heal();
  // In the replicate state a follower whose match stalls for three
  // heartbeats is probed again (its appends were lost).
  net.tick(1, 4);
  EXPECT_EQ(net.raft(1).commit(), b);
  for (uint64_t i : net.ids()) EXPECT_EQ(net.node(i).sm.size(), 2u) << "node " << i;
}

// §5.3, the consistency check: "If the follower does not find an entry in
// its log with the same index and term, then it refuses the new entries."
TEST(RaftReplication, Paper_5_3_FollowerRefusesAppendWithoutMatchingPrev) {
  struct Case {
    uint64_t prev, prev_term;
    bool accept;
  };
  // Follower log: terms [1, 2, 2] at indexes 1..3.
  const std::vector<Case> cases = {
      {3, 2, true},  {2, 2, true}, {1, 1, true}, {3, 3, false},  // right index, wrong term
      {4, 2, false},                                             // beyond the end
      {9, 3, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "prev (" << c.prev << ", t" << c.prev_term << ")");
    Lone n(1, 3, {2, 2}, 3);
    ASSERT_TRUE(n.raft->step(append(2, 1, 3, c.prev, c.prev_term, {3})).is_ok());
    auto r = acks(n.drain_msgs());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(!r[0].reject, c.accept);
    if (c.accept) {
      EXPECT_EQ(r[0].index, Index(c.prev + 1));
      EXPECT_EQ(n.raft->last_index(), Index(c.prev + 1));
      EXPECT_EQ(n.store.last_index(), Index(c.prev + 1));
    } else {
      EXPECT_EQ(log_terms(n.store), (std::vector<uint64_t>{1, 2, 2}));
      EXPECT_EQ(r[0].index, Index(c.prev)) << "the rejection names the probed index";
    }
  }
}

// §5.3 / Figure 2 (AppendEntries receiver, step 3): "If an existing entry
// conflicts with a new one (same index but different terms), delete the
// existing entry and all that follow it". Entries that do not conflict are
// kept: a delayed, shorter append must not truncate the log.
TEST(RaftReplication, Paper_5_3_ConflictTruncatesOnlyOnRealConflict) {
  {
    Lone n(1, 3, {2, 2, 2}, 3);
    ASSERT_TRUE(n.raft->step(append(2, 1, 3, 2, 2, {3})).is_ok());
    n.drain_msgs();
    EXPECT_EQ(log_terms(n.store), (std::vector<uint64_t>{1, 2, 3})) << "suffix replaced";
  }
  {
    Lone n(1, 3, {2, 2, 2}, 2);
    ASSERT_TRUE(n.raft->step(append(2, 1, 2, 2, 2, {2})).is_ok());
    auto r = acks(n.drain_msgs());
    EXPECT_EQ(log_terms(n.store), (std::vector<uint64_t>{1, 2, 2, 2})) << "nothing truncated";
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].reject);
    EXPECT_EQ(r[0].index, Index(3)) << "acknowledges only what the message covered";
  }
}

// Figure 2 (AppendEntries receiver, step 5): "If leaderCommit > commitIndex,
// set commitIndex = min(leaderCommit, index of last new entry)".
TEST(RaftReplication, Paper_5_3_FollowerCommitBoundedByLastNewEntry) {
  Lone n(1, 3, {2, 2, 2}, 2);
  ASSERT_TRUE(n.raft->step(append(2, 1, 2, 2, 2, {}, 4)).is_ok());
  EXPECT_EQ(n.raft->commit(), Index(2)) << "entries 3..4 are not verified by this message";
  std::vector<Ready> rds;
  n.drain_msgs(&rds);
  size_t applied = 0;
  for (const Ready& rd : rds) applied += rd.committed.size();
  EXPECT_EQ(applied, 1u);
  ASSERT_TRUE(n.raft->step(append(2, 1, 2, 4, 2, {}, 4)).is_ok());
  EXPECT_EQ(n.raft->commit(), Index(4));
}

// §5.5: "Raft RPCs are idempotent": the same AppendEntries twice leaves the
// log as once and is acknowledged twice.
TEST(RaftReplication, Paper_5_5_DuplicateAppendIsIdempotent) {
  Lone n(1, 3, {}, 2);
  const Message m = append(2, 1, 2, 1, 1, {2, 2});
  ASSERT_TRUE(n.raft->step(m).is_ok());
  auto first = acks(n.drain_msgs());
  const auto log = stored_log(n.store);
  ASSERT_TRUE(n.raft->step(m).is_ok());
  auto second = acks(n.drain_msgs());
  EXPECT_EQ(stored_log(n.store), log);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].index, second[0].index);
  EXPECT_FALSE(second[0].reject);
}

// Persist before send, for acknowledgements: the ack of new entries comes in
// the same Ready as those entries, with must_sync.
TEST(RaftReplication, Paper_Fig2_AckTravelsWithItsEntries) {
  Lone n(1, 3, {}, 2);
  ASSERT_TRUE(n.raft->step(append(2, 1, 2, 1, 1, {2, 2})).is_ok());
  EXPECT_EQ(n.store.last_index(), Index(1)) << "the core does not write the store itself";
  Ready rd = n.raft->take_ready();
  ASSERT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(rd.entries.back().index, Index(3));
  EXPECT_TRUE(rd.must_sync);
  auto r = acks(rd.messages);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].index, Index(3));
  ASSERT_TRUE(n.store.save(rd.hard_state, rd.entries, rd.must_sync).is_ok());
  n.raft->advance(rd);
  n.store.power_cut();
  EXPECT_EQ(n.store.last_index(), Index(3));
}

// ---------------------------------------------------------------- §5.3 Figure 7

// §5.3, Figure 7: whatever the follower's log (missing entries, extra
// uncommitted entries, both), the leader makes it identical to its own.
TEST(RaftReplication, Paper_5_3_Figure7_LeaderForcesFollowerLogToMatch) {
  // Terms from index 2 (index 1 is the bootstrap entry of term 1).
  const std::vector<uint64_t> leader = {1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> followers = {
      {"a", {1, 1, 4, 4, 5, 5, 6, 6}},
      {"b", {1, 1, 4}},
      {"c", {1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
      {"d", {1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
      {"e", {1, 1, 4, 4, 4, 4}},
      {"f", {1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
  };
  for (const auto& [name, flog] : followers) {
    SCOPED_TRACE("Figure 7 (" + name + ")");
    Network net(3, paper_config);
    net.set_log(1, leader, 7);
    net.set_log(2, flog, 7);
    net.set_log(3, leader, 7);
    net.campaign(1);
    ASSERT_EQ(net.raft(1).role(), Role::kLeader);
    ASSERT_EQ(net.raft(1).term(), Term(8));
    net.propose(1, "more");
    EXPECT_EQ(stored_log(net.store(2)), stored_log(net.store(1)));
    EXPECT_EQ(net.raft(2).commit(), net.raft(1).commit());
    EXPECT_EQ(net.node(2).sm, net.node(1).sm);
  }
}

// §5.3: "the protocol can be optimized to reduce the number of rejected
// AppendEntries RPCs ... one AppendEntries RPC will be required for each
// term with conflicting entries, rather than one RPC per entry."
TEST(RaftReplication, Paper_5_3_FastBacktrackingFewRoundTrips) {
  struct Case {
    std::string name;
    std::vector<uint64_t> leader, follower;
    uint64_t term;
    size_t max_rejects;
  };
  auto rep = [](std::initializer_list<std::pair<uint64_t, size_t>> runs) {
    std::vector<uint64_t> out;
    for (auto [t, n] : runs) out.insert(out.end(), n, t);
    return out;
  };
  const std::vector<Case> cases = {
      {"100 conflicting entries of one term", rep({{3, 100}}), rep({{2, 100}}), 3, 1},
      {"follower short by 100", rep({{3, 100}}), {}, 3, 1},
      {"follower longer in an older term", rep({{2, 50}, {4, 50}}), rep({{2, 80}, {3, 20}}), 4, 2},
      {"many short conflicting terms", rep({{9, 60}}),
       rep({{2, 10}, {3, 10}, {4, 10}, {5, 10}, {6, 10}, {7, 10}}), 9, 6},  // one per term
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Network net(3, paper_config);
    net.set_log(1, c.leader, c.term);
    net.set_log(2, c.follower, c.term);
    net.set_log(3, c.leader, c.term);
    net.campaign(1);
    ASSERT_EQ(net.raft(1).role(), Role::kLeader);
    const size_t rejects = net.count_delivered(
        MessageKind::kAppendResp, [](const Message& m) { return m.reject && m.from == nid(2); });
    EXPECT_LE(rejects, c.max_rejects);
    EXPECT_EQ(stored_log(net.store(2)), stored_log(net.store(1)));
  }
}

// ---------------------------------------------------------------- §5.4.2

// §5.4.2, Figure 8: "Raft never commits log entries from previous terms by
// counting replicas. Only log entries from the leader's current term are
// committed by counting replicas". A leader of term 3 holding an entry of
// term 2 replicated on a majority must not commit it until an entry of term 3
// is replicated on a majority too.
TEST(RaftReplication, Paper_5_4_2_Figure8_NoCommitOfOldTermByCounting) {
  Lone n(1, 5, {2}, 2);  // [t1, t2], the t2 entry uncommitted
  n.raft->campaign();
  n.drain_msgs();
  for (uint64_t v : {2, 3}) {
    Message g = msg(MessageKind::kVoteResp, v, 1, 3);
    ASSERT_TRUE(n.raft->step(g).is_ok());
  }
  ASSERT_EQ(n.raft->role(), Role::kLeader);
  ASSERT_EQ(n.raft->last_index(), Index(3)) << "the term-3 entry a new leader appends";
  n.drain_msgs();
  // Nodes 2 and 3 hold index 2 (term 2): with the leader, a majority of 5.
  for (uint64_t v : {2, 3}) ASSERT_TRUE(n.raft->step(append_resp(v, 1, 3, 2)).is_ok());
  n.drain_msgs();
  EXPECT_EQ(n.raft->commit(), Index(1)) << "entry 2 (term 2) committed by counting replicas";
  // Once the term-3 entry is on a majority, it commits, and entry 2 with it.
  ASSERT_TRUE(n.raft->step(append_resp(2, 1, 3, 3)).is_ok());
  EXPECT_EQ(n.raft->commit(), Index(1));
  ASSERT_TRUE(n.raft->step(append_resp(3, 1, 3, 3)).is_ok());
  EXPECT_EQ(n.raft->commit(), Index(3));
}

// The cluster-scale Figure 8: S1 (term 2) gets entry X onto S2 only and
// crashes; S5 wins term 3 with S3, S4 and crashes before replicating; S1
// comes back, wins term 4 and replicates X to S3 — X is now on a majority but
// must not be committed (nor applied anywhere) before S1's term-4 entry is.
TEST(RaftReplication, Paper_5_4_2_Figure8_ClusterScenario) {
  Network net(5, paper_config);
  net.campaign(1);
  ASSERT_EQ(net.raft(1).term(), Term(2));
  const Index base = net.raft(1).commit();
  // (a) X replicated to S2 only.
  net.isolate(3);
  net.isolate(4);
  net.isolate(5);
  net.drop_if = [](const Message& m) { return m.kind == MessageKind::kAppendResp; };
  const Index x = net.propose(1, "X");
  ASSERT_EQ(net.raft(2).last_index(), x);
  ASSERT_EQ(net.raft(1).commit(), base);
  // (b) S1 crashes; S5 is elected by S3, S4, S5 in term 3, appends its
  // entry at index x and crashes before replicating it.
  net.crash(1);
  net.heal();
  net.isolate(2);
  net.drop_if = [](const Message& m) { return m.kind == MessageKind::kAppend && m.from == nid(5); };
  net.campaign(5);
  ASSERT_EQ(net.raft(5).role(), Role::kLeader);
  ASSERT_EQ(net.raft(5).term(), Term(3));
  ASSERT_EQ(net.raft(5).term_at(x), Term(3));
  net.crash(5);
  // (c) S1 restarts and is elected in term 4 (S2, S3 vote). Its appends reach
  // S3 but every acknowledgement of the term-4 entry is lost.
  net.restart(1);
  net.heal();
  net.isolate(5);
  net.isolate(4);
  net.drop_if = [x](const Message& m) { return m.kind == MessageKind::kAppendResp && m.index > x; };
  // Term 3 is lost (S3 voted for S5 in it); S1 wins term 4.
  for (int i = 0; i < 3 && net.raft(1).role() != Role::kLeader; ++i) net.campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_EQ(net.raft(1).term(), Term(4));
  ASSERT_EQ(net.raft(3).term_at(x), Term(2)) << "X reached S3: on S1, S2, S3";
  EXPECT_LT(net.raft(1).commit(), x) << "X (term 2) must not be committed by counting";
  for (uint64_t i : {1, 2, 3}) {
    for (const auto& c : net.node(i).sm) EXPECT_NE(c, bytes("X")) << "node " << i << " applied X";
  }
  // (d) S1 crashes now: S5 can still win (with S2? no — with S3? no: their
  // logs end in term 4 now). The point of Figure 8 is (e): once the term-4
  // entry is on a majority, X is committed and safe.
  net.drop_if = nullptr;
  net.tick(1, 2);
  EXPECT_GT(net.raft(1).commit(), x);
  for (uint64_t i : {1, 2, 3}) {
    ASSERT_FALSE(net.node(i).sm.empty());
    EXPECT_EQ(net.node(i).sm.back(), bytes("X")) << "node " << i;
  }
}

// ---------------------------------------------------------------- §5.4.3

// §5.4.3, State Machine Safety: "if a server has applied a log entry at a
// given index to its state machine, no other server will ever apply a
// different log entry for the same index." A deterministic run of random
// partitions, crashes and proposals; applied sequences stay prefixes of one
// another, and after healing everything converges.
TEST(RaftReplication, Paper_5_4_3_StateMachineSafetyUnderPartitions) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    Network net(5, nullptr, seed);
    Rng chaos(seed * 77);
    int proposed = 0;
    for (int round = 0; round < 300; ++round) {
      if (round % 20 == 0) {
        net.heal();
        for (uint64_t i : net.ids()) {
          if (!net.node(i).up) net.restart(i);
        }
        const uint64_t k = chaos.uniform(3);
        for (uint64_t j = 0; j < k; ++j) net.isolate(1 + chaos.uniform(5));
        if (chaos.chance(0.3)) net.crash(1 + chaos.uniform(5), /*power_cut=*/chaos.chance(0.5));
      }
      if (chaos.chance(0.1)) {
        net.drop_if = [&chaos](const Message&) { return chaos.chance(0.2); };
      } else if (chaos.chance(0.1)) {
        net.drop_if = nullptr;
      }
      for (uint64_t i : net.ids()) {
        if (net.node(i).up) net.raft(i).tick();
      }
      net.stabilize();
      if (auto l = net.leader(); l && chaos.chance(0.5)) {
        auto r = net.raft(*l).propose(bytes("p" + std::to_string(proposed++)));
        (void)r;
        net.stabilize();
      }
      // Applied sequences are prefixes of one another.
      std::vector<Entry> longest;
      for (uint64_t i : net.ids()) {
        const auto& a = net.node(i).applied;
        if (a.size() > longest.size()) longest = a;
      }
      for (uint64_t i : net.ids()) {
        const auto& a = net.node(i).applied;
        for (size_t k = 0; k < a.size(); ++k) {
          if (a[k].index == longest[k].index) {
            ASSERT_EQ(a[k], longest[k]) << "round " << round << " node " << i;
          }
        }
      }
    }
    net.heal();
    for (uint64_t i : net.ids()) {
      if (!net.node(i).up) net.restart(i);
    }
    for (int i = 0; i < 100 && !net.leader(); ++i) net.tick_all();
    ASSERT_TRUE(net.leader().has_value());
    net.propose(*net.leader(), "final");
    net.tick_all(3);
    const uint64_t l = *net.leader();
    for (uint64_t i : net.ids()) {
      EXPECT_EQ(net.node(i).sm, net.node(l).sm) << "node " << i;
      EXPECT_EQ(stored_log(net.store(i)), stored_log(net.store(l))) << "node " << i;
    }
    EXPECT_GT(net.node(l).sm.size(), 10u) << "the cluster made progress";
  }
}

// ---------------------------------------------------------------- flow control

// Pipelining is bounded: with acknowledgements lost, at most max_inflight
// appends are outstanding; once they flow again the follower catches up.
TEST(RaftReplication, InflightAppendsBoundedAndRecovered) {
  Network net(3, [](Config& c) {
    paper_config(c);
    c.max_inflight = 2;
    c.max_msg_bytes = 30;  // one entry per message
  });
  net.campaign(1);
  net.propose(1, "warm");
  ASSERT_EQ(net.raft(1).progress().at(nid(2)).state, Progress::State::kReplicate);
  net.drop_if = [](const Message& m) {
    return m.kind == MessageKind::kAppendResp && m.from == nid(2);
  };
  net.clear_delivered();
  for (int i = 0; i < 10; ++i) net.propose(1, "entry-" + std::to_string(i));
  const size_t to2 = net.count_delivered(
      MessageKind::kAppend, [](const Message& m) { return m.to == nid(2) && !m.entries.empty(); });
  EXPECT_EQ(to2, 2u);
  EXPECT_EQ(net.raft(1).commit(), net.raft(1).last_index()) << "node 3 keeps the majority";
  net.heal();
  net.tick(1, 6);
  EXPECT_EQ(stored_log(net.store(2)), stored_log(net.store(1)));
  EXPECT_EQ(net.node(2).sm, net.node(1).sm);
}

// Appends are batched up to max_msg_bytes (at least one entry each).
TEST(RaftReplication, AppendsRespectMaxMsgBytes) {
  Network net(3, [](Config& c) {
    paper_config(c);
    c.max_msg_bytes = 100;
  });
  net.campaign(1);
  net.isolate(3);
  for (int i = 0; i < 40; ++i) net.propose(1, "0123456789");
  net.heal();
  net.clear_delivered();
  net.tick(1, 3);
  size_t batches = 0;
  for (const Message& m : net.delivered()) {
    if (m.kind != MessageKind::kAppend || m.entries.empty()) continue;
    size_t sz = 0;
    for (const Entry& e : m.entries) sz += e.size_bytes();
    EXPECT_TRUE(m.entries.size() == 1 || sz <= 100) << sz << " bytes in " << m.entries.size();
    ++batches;
  }
  EXPECT_GE(batches, 10u);
  EXPECT_EQ(stored_log(net.store(3)), stored_log(net.store(1)));
}

// Lost appends are retried (§5.3: "the leader retries AppendEntries RPCs
// indefinitely"): after dropping every append to a follower for a while,
// heartbeats bring it back up to date.
TEST(RaftReplication, Paper_5_3_LostAppendsRetried) {
  Network net(3);
  for (int i = 0; i < 40 && !net.leader(); ++i) net.tick_all();
  const uint64_t l = *net.leader();
  const uint64_t f = l == 1 ? 2 : 1;
  net.drop_if = [f](const Message& m) { return m.kind == MessageKind::kAppend && m.to == nid(f); };
  for (int i = 0; i < 5; ++i) net.propose(l, "lost" + std::to_string(i));
  EXPECT_LT(net.raft(f).last_index(), net.raft(l).last_index());
  net.drop_if = nullptr;
  net.tick_all(5);
  EXPECT_EQ(stored_log(net.store(f)), stored_log(net.store(l)));
  EXPECT_EQ(net.node(f).sm.size(), 5u);
}

// A follower that crashes and loses unsynced state catches up after restart.
TEST(RaftReplication, Paper_5_5_FollowerCrashAndRestartCatchesUp) {
  Network net(3, paper_config);
  net.campaign(1);
  for (int i = 0; i < 3; ++i) net.propose(1, "a" + std::to_string(i));
  net.crash(3, /*power_cut=*/true);
  for (int i = 0; i < 3; ++i) net.propose(1, "b" + std::to_string(i));
  net.restart(3);
  net.tick(1, 3);
  EXPECT_EQ(stored_log(net.store(3)), stored_log(net.store(1)));
  EXPECT_EQ(net.node(3).sm.size(), 6u);
}

}  // namespace
}  // namespace shoal::raft::test
