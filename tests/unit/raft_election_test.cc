// Raft core: terms and elections, against the Raft paper ("In Search of an
// Understandable Consensus Algorithm", extended version) §5.1, §5.2, §5.4.1,
// the persistence rules of Figure 2, and the core's input validation.
#include <gtest/gtest.h>

#include <set>

#include "raft_test_util.h"

namespace shoal::raft::test {
namespace {

Message vote_req(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index, uint64_t last_term,
                 bool pre = false) {
  Message m = msg(pre ? MessageKind::kPreVote : MessageKind::kVote, from, to, term);
  m.index = Index(last_index);
  m.log_term = Term(last_term);
  return m;
}

Message vote_resp(uint64_t from, uint64_t to, uint64_t term, bool reject) {
  Message m = msg(MessageKind::kVoteResp, from, to, term);
  m.reject = reject;
  return m;
}

// ---------------------------------------------------------------- §5.1

// §5.1: "If one server's current term is smaller than the other's, then it
// updates its current term to the larger value. If a candidate or leader
// discovers that its term is out of date, it immediately reverts to
// follower state."
TEST(RaftElection, Paper_5_1_LeaderWithStaleTermBecomesFollower) {
  Network net(3, paper_config);
  net.campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  ASSERT_EQ(net.raft(1).term(), Term(2));
  Message hb = msg(MessageKind::kHeartbeat, 2, 1, 5);
  ASSERT_TRUE(net.raft(1).step(hb).is_ok());
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), Term(5));
  EXPECT_EQ(net.raft(1).leader(), nid(2));
  EXPECT_TRUE(net.raft(1).vote().is_zero()) << "a new term starts without a vote";
  net.stabilize();
  EXPECT_EQ(net.store(1).hard_state().term, Term(5)) << "the new term is persisted";
}

TEST(RaftElection, Paper_5_1_CandidateWithStaleTermBecomesFollower) {
  for (MessageKind k : {MessageKind::kAppend, MessageKind::kHeartbeat, MessageKind::kVote,
                        MessageKind::kVoteResp, MessageKind::kAppendResp}) {
    SCOPED_TRACE(message_kind_name(k));
    Lone n(1, 3);
    n.raft->campaign();
    n.drain_msgs();
    ASSERT_EQ(n.raft->role(), Role::kCandidate);
    ASSERT_EQ(n.raft->term(), Term(2));
    Message m = msg(k, 2, 1, 4);
    if (k == MessageKind::kVote) {
      m.index = Index(1);
      m.log_term = Term(1);
    }
    ASSERT_TRUE(n.raft->step(m).is_ok());
    EXPECT_EQ(n.raft->role(), Role::kFollower);
    EXPECT_EQ(n.raft->term(), Term(4));
    const bool from_leader = k == MessageKind::kAppend || k == MessageKind::kHeartbeat;
    EXPECT_EQ(n.raft->leader(), from_leader ? nid(2) : NodeId());
  }
}

TEST(RaftElection, Paper_5_1_FollowerAdoptsHigherTermAndClearsVote) {
  Lone n(1, 3);
  ASSERT_TRUE(n.raft->step(vote_req(2, 1, 2, 1, 1)).is_ok());
  n.drain_msgs();
  EXPECT_EQ(n.raft->vote(), nid(2));
  ASSERT_TRUE(n.raft->step(msg(MessageKind::kAppendResp, 3, 1, 3)).is_ok());
  EXPECT_EQ(n.raft->term(), Term(3));
  EXPECT_TRUE(n.raft->vote().is_zero());
  n.drain_msgs();
  EXPECT_EQ(n.store.hard_state(), (HardState{Term(3), NodeId(), Index(1)}));
}

// §5.1: "If a server receives a request with a stale term number, it rejects
// the request." The log and term stay as they are. With pre-vote or
// check-quorum on, the answer carries the newer term so that the stale
// leader steps down.
TEST(RaftElection, Paper_5_1_StaleTermAppendRejected) {
  for (bool paper : {true, false}) {
    SCOPED_TRACE(paper ? "paper config" : "default config");
    Lone n(1, 3, {2, 3}, 3, paper);
    // A leader of term 2 that would overwrite index 3 (term 3) with its own.
    Message app = msg(MessageKind::kAppend, 2, 1, 2);
    app.log_term = Term(2);
    app.index = Index(2);
    app.entries = {Entry{Term(2), Index(3), EntryType::kNormal, bytes("stale")}};
    ASSERT_TRUE(n.raft->step(app).is_ok());
    EXPECT_EQ(n.raft->term(), Term(3));
    EXPECT_EQ(n.raft->last_index(), Index(3));
    EXPECT_EQ(n.raft->term_at(Index(3)), Term(3)) << "a stale leader must not overwrite the log";
    EXPECT_TRUE(n.raft->leader().is_zero());
    auto msgs = n.drain_msgs();
    EXPECT_EQ(log_terms(n.store), (std::vector<uint64_t>{1, 2, 3}));
    for (const Message& m : msgs) {
      EXPECT_EQ(m.term, Term(3));
      EXPECT_FALSE(m.kind == MessageKind::kAppendResp && m.index.value() >= 3)
          << "no acknowledgement of the stale entries";
    }
    if (!paper) {
      ASSERT_EQ(of_kind(msgs, MessageKind::kAppendResp).size(), 1u)
          << "the stale leader is told the newer term";
    }
  }
}

TEST(RaftElection, Paper_5_1_StaleTermVoteRequestNotGranted) {
  Lone n(1, 3, {}, 5);
  ASSERT_TRUE(n.raft->step(vote_req(2, 1, 4, 9, 4)).is_ok());
  EXPECT_TRUE(n.raft->vote().is_zero());
  EXPECT_EQ(n.raft->term(), Term(5));
  for (const Message& m : n.drain_msgs()) {
    EXPECT_FALSE(m.kind == MessageKind::kVoteResp && !m.reject);
  }
}

// A stale leader (cut off while the others elected a new one) steps down as
// soon as it hears the newer term in answer to its heartbeat (§5.1).
TEST(RaftElection, Paper_5_1_PartitionedStaleLeaderStepsDownOnReturn) {
  Network net(3, [](Config& c) { c.check_quorum = false; });
  net.campaign(1);
  ASSERT_EQ(net.leader(), 1u);
  net.isolate(1);
  for (int i = 0;
       i < 60 && net.raft(2).role() != Role::kLeader && net.raft(3).role() != Role::kLeader; ++i) {
    net.tick(2);
    net.tick(3);
  }
  ASSERT_TRUE(net.raft(2).role() == Role::kLeader || net.raft(3).role() == Role::kLeader);
  const Term new_term = std::max(net.raft(2).term(), net.raft(3).term());
  EXPECT_EQ(net.raft(1).role(), Role::kLeader) << "still believes it leads";
  net.heal();
  net.tick(1);
  EXPECT_EQ(net.raft(1).role(), Role::kFollower);
  EXPECT_EQ(net.raft(1).term(), new_term);
}

// ---------------------------------------------------------------- §5.2

// §5.2: "Raft uses randomized election timeouts ... chosen randomly from a
// fixed interval". Here [election_ticks, 2 * election_ticks).
TEST(RaftElection, Paper_5_2_ElectionTimeoutRandomizedInRange) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Lone n(1, 3, {}, 1, true, seed);
    int ticks = 0;
    while (n.raft->role() == Role::kFollower && ticks < 100) {
      n.raft->tick();
      ++ticks;
    }
    EXPECT_GE(ticks, n.cfg.election_ticks) << "seed " << seed;
    EXPECT_LT(ticks, 2 * n.cfg.election_ticks) << "seed " << seed;
    seen.insert(ticks);
    // A candidate that does not win times out again, after a fresh draw in
    // the same range.
    n.drain_msgs();
    ASSERT_EQ(n.raft->term(), Term(2));
    int again = 0;
    while (n.raft->term() == Term(2) && again < 100) {
      n.raft->tick();
      ++again;
    }
    EXPECT_GE(again, n.cfg.election_ticks);
    EXPECT_LT(again, 2 * n.cfg.election_ticks);
    seen.insert(again);
  }
  EXPECT_GE(seen.size(), 5u) << "timeouts are not spread over the range";
}

// §5.2: "To begin an election, a follower increments its current term and
// transitions to candidate state. It then votes for itself and issues
// RequestVote RPCs in parallel to each of the other servers."
TEST(RaftElection, Paper_5_2_FollowerTimeoutStartsElection) {
  Lone n(1, 3, {2, 2}, 2);
  for (int i = 0; i < 40 && n.raft->role() == Role::kFollower; ++i) n.raft->tick();
  ASSERT_EQ(n.raft->role(), Role::kCandidate);
  EXPECT_EQ(n.raft->term(), Term(3));
  EXPECT_EQ(n.raft->vote(), nid(1));
  auto votes = of_kind(n.drain_msgs(), MessageKind::kVote);
  ASSERT_EQ(votes.size(), 2u);
  std::set<NodeId> to;
  for (const Message& m : votes) {
    to.insert(m.to);
    EXPECT_EQ(m.term, Term(3));
    EXPECT_EQ(m.index, Index(3));
    EXPECT_EQ(m.log_term, Term(2));
  }
  EXPECT_EQ(to, (std::set<NodeId>{nid(2), nid(3)}));
  EXPECT_EQ(n.store.hard_state().vote, nid(1));
  EXPECT_EQ(n.store.hard_state().term, Term(3));
}

// §5.2: "A candidate wins an election if it receives votes from a majority
// of the servers in the full cluster for the same term."
TEST(RaftElection, Paper_5_2_CandidateWinsWithMajority) {
  struct Case {
    size_t size;
    std::vector<uint64_t> grant;
    std::vector<uint64_t> reject;
    Role want;
  };
  const std::vector<Case> cases = {
      {1, {}, {}, Role::kLeader},
      {3, {2}, {}, Role::kLeader},
      {3, {2, 3}, {}, Role::kLeader},
      {3, {}, {}, Role::kCandidate},
      {3, {}, {2}, Role::kCandidate},
      {3, {}, {2, 3}, Role::kFollower},  // lost
      {5, {2, 3}, {}, Role::kLeader},
      {5, {2}, {3}, Role::kCandidate},
      {5, {2}, {3, 4, 5}, Role::kFollower},
      {5, {2, 2, 2}, {}, Role::kCandidate},  // one voter counts once
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(c);
    const Case& k = cases[c];
    Lone n(1, k.size);
    n.raft->campaign();
    n.drain_msgs();
    for (uint64_t g : k.grant) ASSERT_TRUE(n.raft->step(vote_resp(g, 1, 2, false)).is_ok());
    for (uint64_t r : k.reject) ASSERT_TRUE(n.raft->step(vote_resp(r, 1, 2, true)).is_ok());
    EXPECT_EQ(n.raft->role(), k.want) << role_name(n.raft->role());
    EXPECT_EQ(n.raft->term(), Term(2));
    if (k.want == Role::kLeader) {
      EXPECT_EQ(n.raft->leader(), nid(1));
      // The new leader appends an entry of its term at once (§5.4.2 / §8).
      EXPECT_EQ(n.raft->term_at(n.raft->last_index()), Term(2));
    }
  }
}

// §5.2: a candidate that hears AppendEntries from a leader of its own term
// "recognizes the leader as legitimate and returns to follower state".
TEST(RaftElection, Paper_5_2_CandidateYieldsToLeaderOfSameTerm) {
  Lone n(1, 3);
  n.raft->campaign();
  n.drain_msgs();
  Message app = msg(MessageKind::kAppend, 2, 1, 2);
  app.index = Index(1);
  app.log_term = Term(1);
  ASSERT_TRUE(n.raft->step(app).is_ok());
  EXPECT_EQ(n.raft->role(), Role::kFollower);
  EXPECT_EQ(n.raft->term(), Term(2));
  EXPECT_EQ(n.raft->leader(), nid(2));
  EXPECT_EQ(n.raft->vote(), nid(1)) << "the vote in this term stands";
}

// §5.2: split votes. Two candidates of one term each get half of four
// voters; nobody wins that term, and the randomized timeouts then elect
// exactly one leader in a later term.
TEST(RaftElection, Paper_5_2_SplitVoteResolvedByLaterTerm) {
  Network net(4, paper_config);
  net.raft(1).campaign();
  net.raft(3).campaign();
  net.drop_if = [](const Message& m) {
    return m.kind == MessageKind::kVote &&
           ((m.from == nid(1) && m.to == nid(4)) || (m.from == nid(3) && m.to == nid(2)));
  };
  net.stabilize();
  for (uint64_t i : net.ids()) {
    EXPECT_NE(net.raft(i).role(), Role::kLeader) << "node " << i;
    EXPECT_EQ(net.raft(i).term(), Term(2));
  }
  EXPECT_EQ(net.raft(2).vote(), nid(1));
  EXPECT_EQ(net.raft(4).vote(), nid(3));
  net.heal();
  for (int i = 0; i < 100 && !net.leader(); ++i) net.tick_all();
  ASSERT_TRUE(net.leader().has_value());
  const uint64_t l = *net.leader();
  EXPECT_GE(net.raft(l).term(), Term(3));
  size_t leaders = 0;
  for (uint64_t i : net.ids()) {
    leaders += net.raft(i).role() == Role::kLeader ? 1 : 0;
    EXPECT_EQ(net.raft(i).leader(), nid(l));
  }
  EXPECT_EQ(leaders, 1u);
}

// §5.2: "Each server will vote for at most one candidate in a given term, on
// a first-come-first-served basis." A repeated request from the same
// candidate (a retransmission) is granted again.
TEST(RaftElection, Paper_5_2_VotesAtMostOncePerTerm) {
  Lone n(1, 3);
  auto granted = [&](const Message& req) {
    EXPECT_TRUE(n.raft->step(req).is_ok());
    auto resp = of_kind(n.drain_msgs(), MessageKind::kVoteResp);
    EXPECT_EQ(resp.size(), 1u);
    return !resp.empty() && !resp[0].reject;
  };
  EXPECT_TRUE(granted(vote_req(2, 1, 2, 1, 1)));
  EXPECT_FALSE(granted(vote_req(3, 1, 2, 1, 1)));
  EXPECT_TRUE(granted(vote_req(2, 1, 2, 1, 1)));
  EXPECT_EQ(n.store.hard_state().vote, nid(2));
  // A new term, a new vote.
  EXPECT_TRUE(granted(vote_req(3, 1, 3, 1, 1)));
  EXPECT_EQ(n.store.hard_state(), (HardState{Term(3), nid(3), Index(1)}));
  // And the vote survives a restart: no second vote in term 3.
  Rng rng(9);
  Raft again(n.cfg, n.store, rng);
  EXPECT_EQ(again.vote(), nid(3));
  ASSERT_TRUE(again.step(vote_req(2, 1, 3, 1, 1)).is_ok());
  auto resp = of_kind(drain(again, n.store), MessageKind::kVoteResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
}

// ---------------------------------------------------------------- §5.4.1

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than
// that of the candidate ... If the logs have last entries with different
// terms, then the log with the later term is more up-to-date. If the logs
// end with the same term, then whichever log is longer is more up-to-date."
TEST(RaftElection, Paper_5_4_1_VoteOnlyForUpToDateCandidate) {
  struct Case {
    uint64_t last_index, last_term;
    bool grant;
  };
  // The voter's log: terms [1, 2, 2] at indexes 1..3.
  const std::vector<Case> cases = {
      {1, 1, false}, {5, 1, false},  // earlier last term, even if longer
      {2, 2, false},                 // same term, shorter
      {3, 2, true},  {4, 2, true},   // same term, as long or longer
      {1, 3, true},  {9, 3, true},   // later last term, even if shorter
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message()
                 << "candidate last (" << c.last_index << ", t" << c.last_term << ")");
    Lone n(1, 3, {2, 2}, 2);
    ASSERT_TRUE(n.raft->step(vote_req(2, 1, 4, c.last_index, c.last_term)).is_ok());
    auto resp = of_kind(n.drain_msgs(), MessageKind::kVoteResp);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(!resp[0].reject, c.grant);
    EXPECT_EQ(n.raft->term(), Term(4)) << "the term is adopted either way";
    EXPECT_EQ(n.raft->vote(), c.grant ? nid(2) : NodeId());
  }
}

// §5.4.1 at cluster scale: a node missing a committed entry cannot be
// elected, so the committed entry survives.
TEST(RaftElection, Paper_5_4_1_NodeMissingCommittedEntryCannotWin) {
  Network net(3, paper_config);
  net.campaign(1);
  net.isolate(3);
  const Index idx = net.propose(1, "committed");
  ASSERT_GE(net.raft(1).commit(), idx);
  net.heal();
  net.isolate(1);
  net.campaign(3);
  EXPECT_NE(net.raft(3).role(), Role::kLeader) << "node 2 must refuse node 3";
  net.campaign(2);
  EXPECT_EQ(net.raft(2).role(), Role::kLeader);
  EXPECT_EQ(net.raft(2).term_at(idx), net.raft(1).term_at(idx));
}

// ---------------------------------------------------------------- persistence (Figure 2)

// Figure 2: currentTerm and votedFor are "updated on stable storage before
// responding to RPCs". The core never writes; the vote it grants appears in
// the same Ready as the hard state recording it (must_sync), so a host that
// persists before sending can never send an unpersisted vote.
TEST(RaftElection, Paper_Fig2_VoteGrantTravelsWithItsHardState) {
  Lone n(1, 3);
  ASSERT_TRUE(n.raft->step(vote_req(2, 1, 2, 1, 1)).is_ok());
  EXPECT_EQ(n.store.hard_state().term, Term(1)) << "the core does not write the store itself";
  ASSERT_TRUE(n.raft->has_ready());
  Ready rd = n.raft->take_ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].kind, MessageKind::kVoteResp);
  EXPECT_FALSE(rd.messages[0].reject);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(2));
  EXPECT_EQ(rd.hard_state->vote, nid(2));
  EXPECT_TRUE(rd.must_sync);
  ASSERT_TRUE(n.store.save(rd.hard_state, rd.entries, rd.must_sync).is_ok());
  n.raft->advance(rd);
  EXPECT_FALSE(n.raft->has_ready());
  // The synced vote survives a power cut.
  n.store.power_cut();
  EXPECT_EQ(n.store.hard_state().vote, nid(2));
}

TEST(RaftElection, Paper_Fig2_CandidateSelfVoteTravelsWithItsHardState) {
  Lone n(1, 3);
  n.raft->campaign();
  Ready rd = n.raft->take_ready();
  ASSERT_EQ(of_kind(rd.messages, MessageKind::kVote).size(), 2u);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(2));
  EXPECT_EQ(rd.hard_state->vote, nid(1));
  EXPECT_TRUE(rd.must_sync);
  ASSERT_TRUE(n.store.save(rd.hard_state, rd.entries, rd.must_sync).is_ok());
  n.raft->advance(rd);
}

// Across a whole election and replication run, every Ready passes the
// persist-before-send check of the test host (raft_test_util.h), including
// after power cuts that drop unsynced writes.
TEST(RaftElection, Paper_Fig2_PersistBeforeSendThroughoutClusterRun) {
  Network net(5);
  for (int i = 0; i < 40 && !net.leader(); ++i) net.tick_all();
  ASSERT_TRUE(net.leader().has_value());
  uint64_t l = *net.leader();
  for (int i = 0; i < 5; ++i) net.propose(l, "v" + std::to_string(i));
  const uint64_t f = l == 5 ? 4 : 5;
  net.crash(f, /*power_cut=*/true);
  net.restart(f);
  net.propose(l, "after");
  net.tick_all(3);
  EXPECT_EQ(net.raft(f).commit(), net.raft(l).commit());
  EXPECT_EQ(net.node(f).sm, net.node(l).sm);
}

// ---------------------------------------------------------------- malformed input

// raft.h: "Malformed messages (entries that do not follow `index`, a zero
// sender) are rejected and change nothing."
TEST(RaftElection, MalformedMessagesRejectedAndChangeNothing) {
  auto good_append = [] {
    Message m = msg(MessageKind::kAppend, 2, 1, 5);
    m.index = Index(3);
    m.log_term = Term(2);
    m.commit = Index(3);
    m.entries = {Entry{Term(5), Index(4), EntryType::kNormal, bytes("a")},
                 Entry{Term(5), Index(5), EntryType::kNormal, bytes("b")}};
    return m;
  };
  std::vector<std::pair<std::string, Message>> bad;
  {
    Message m = good_append();
    m.entries[0].index = Index(5);  // does not follow index 3
    bad.emplace_back("entries skip an index", m);
  }
  {
    Message m = good_append();
    m.entries[1].index = Index(4);  // repeats
    bad.emplace_back("entries not contiguous", m);
  }
  {
    Message m = good_append();
    m.from = NodeId();
    bad.emplace_back("zero sender", m);
  }
  {
    Message m = good_append();
    m.from = nid(1);
    bad.emplace_back("sender is the receiver", m);
  }
  {
    Message m = good_append();
    m.to = nid(3);
    bad.emplace_back("addressed to another node", m);
  }
  {
    Message m = good_append();
    m.entries[1].term = Term(6);  // beyond the message's term
    bad.emplace_back("entry term above message term", m);
  }
  {
    Message m = good_append();
    m.entries[0].term = Term(1);  // below the previous entry's term
    bad.emplace_back("entry term below log_term", m);
  }
  {
    Message m = msg(MessageKind::kSnapshot, 2, 1, 5);
    bad.emplace_back("snapshot at index 0", m);
  }
  {
    Message m = vote_req(0, 1, 9, 9, 9);
    bad.emplace_back("vote from zero", m);
  }
  for (const auto& [what, m] : bad) {
    SCOPED_TRACE(what);
    Lone n(1, 3, {2, 2}, 2);
    Status st = n.raft->step(m);
    EXPECT_FALSE(st.is_ok());
    EXPECT_EQ(n.raft->term(), Term(2));
    EXPECT_TRUE(n.raft->vote().is_zero());
    EXPECT_TRUE(n.raft->leader().is_zero());
    EXPECT_EQ(n.raft->last_index(), Index(3));
    EXPECT_EQ(n.raft->commit(), Index(1));
    EXPECT_EQ(n.raft->role(), Role::kFollower);
    EXPECT_FALSE(n.raft->has_ready()) << "nothing to persist or send";
  }
  // The well-formed one is accepted.
  Lone n(1, 3, {2, 2}, 2);
  ASSERT_TRUE(n.raft->step(good_append()).is_ok());
  EXPECT_EQ(n.raft->last_index(), Index(5));
}

// ---------------------------------------------------------------- restart

// Figure 2: term, vote and log are persistent state; a core rebuilt from the
// store (after a crash, even a power cut) resumes with all of them.
TEST(RaftElection, RestartFromStoreKeepsTermVoteAndLog) {
  Network net(3, paper_config);
  net.campaign(2);
  ASSERT_EQ(net.leader(), 2u);
  for (int i = 0; i < 4; ++i) net.propose(2, "c" + std::to_string(i));
  for (uint64_t i : {1, 2, 3}) {
    SCOPED_TRACE(i);
    const Term term = net.raft(i).term();
    const NodeId vote = net.raft(i).vote();
    const Index last = net.raft(i).last_index();
    std::vector<Entry> log = stored_log(net.store(i));
    const ConfState conf = net.raft(i).conf();
    net.crash(i, /*power_cut=*/true);
    net.restart(i);
    Raft& r = net.raft(i);
    EXPECT_EQ(r.term(), term);
    EXPECT_EQ(r.vote(), vote);
    EXPECT_EQ(r.last_index(), last);
    EXPECT_EQ(stored_log(net.store(i)), log);
    EXPECT_EQ(r.conf(), conf);
    EXPECT_EQ(r.role(), Role::kFollower);
    EXPECT_LE(r.commit(), last);
    EXPECT_GE(r.commit(), Index(1));
    net.stabilize();
  }
  // The cluster carries on: a new election and more commits.
  for (int i = 0; i < 60 && !net.leader(); ++i) net.tick_all();
  ASSERT_TRUE(net.leader().has_value());
  net.propose(*net.leader(), "after restart");
  net.tick_all(2);
  for (uint64_t i : {1, 2, 3}) EXPECT_EQ(net.node(i).sm.size(), 5u) << "node " << i;
}

TEST(RaftElection, RestartAppliesCommittedEntriesFromStore) {
  Network net(3, paper_config);
  net.campaign(1);
  net.propose(1, "a");
  net.propose(1, "b");
  net.tick_all(1);  // followers learn the commit index
  net.crash(3);
  net.restart(3);
  net.flush();
  EXPECT_EQ(net.node(3).sm, (std::vector<std::vector<uint8_t>>{bytes("a"), bytes("b")}))
      << "entries committed before the crash are applied again from the stored log";
}

// ---------------------------------------------------------------- bootstrap

TEST(RaftElection, BootstrapWritesCommittedConfigurationOnce) {
  MemoryLogStore s;
  ConfState cs = voters_conf(3);
  ASSERT_TRUE(Raft::bootstrap(s, s, cs).is_ok());
  EXPECT_EQ(s.last_index(), Index(1));
  EXPECT_EQ(s.hard_state().commit, Index(1));
  EXPECT_FALSE(Raft::bootstrap(s, s, cs).is_ok()) << "twice";
  MemoryLogStore empty;
  EXPECT_FALSE(Raft::bootstrap(empty, empty, ConfState{}).is_ok());
  ConfState unsorted;
  unsorted.voters = {nid(2), nid(1)};
  EXPECT_FALSE(Raft::bootstrap(empty, empty, unsorted).is_ok());
  ConfState dup;
  dup.voters = {nid(1), nid(1)};
  EXPECT_FALSE(Raft::bootstrap(empty, empty, dup).is_ok());
  Rng rng(1);
  Config c;
  c.id = nid(2);
  Raft r(c, s, rng);
  EXPECT_EQ(r.conf(), cs);
  EXPECT_EQ(r.commit(), Index(1));
}

TEST(RaftElection, SingleVoterElectsItselfAndCommits) {
  Network net(1);
  net.campaign(1);
  ASSERT_EQ(net.raft(1).role(), Role::kLeader);
  net.propose(1, "solo");
  EXPECT_EQ(net.raft(1).commit(), net.raft(1).last_index());
  EXPECT_EQ(net.node(1).sm, (std::vector<std::vector<uint8_t>>{bytes("solo")}));
}

}  // namespace
}  // namespace shoal::raft::test
