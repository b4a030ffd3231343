// replaced_by_cluster (node/cluster/replaced_voter.h): when a returning member may
// drop its old Raft log, and every reason it must not.
#include <gtest/gtest.h>

#include "node/cluster/replaced_voter.h"

namespace shoal::node {
namespace {

NodeId id(uint64_t n) { return NodeId(0, n); }

// The agent id(9), its log at term 4 up to index 100; the leader id(1)
// answers from term 5, commit 150, with a committed configuration of
// id(1), id(2), id(3).
LogPosition self() { return LogPosition{id(9), 4, 100}; }
ClusterReport report() {
  ClusterReport r;
  r.responder = id(1);
  r.leader = id(1);
  r.term = 5;
  r.commit = 150;
  r.conf.voters = {id(1), id(2), id(3)};
  r.conf_committed = true;
  return r;
}

TEST(ReplacedVoter, TheLeaderReportingACommittedConfigurationWithoutItPastItsLogMeansReplaced) {
  auto why = replaced_by_cluster(self(), report());
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("index 150"), std::string::npos) << *why;
  // The same term as the agent's is enough.
  ClusterReport same_term = report();
  same_term.term = 4;
  EXPECT_TRUE(replaced_by_cluster(self(), same_term));
}

TEST(ReplacedVoter, EveryMissingConditionKeepsTheLog) {
  struct Case {
    const char* why;
    void (*edit)(LogPosition&, ClusterReport&);
  };
  const Case cases[] = {
      {"a follower answered, not the leader",
       [](LogPosition&, ClusterReport& r) { r.responder = id(2); }},
      {"no leader known", [](LogPosition&, ClusterReport& r) { r.leader = NodeId(); }},
      {"an older term than the agent's", [](LogPosition&, ClusterReport& r) { r.term = 3; }},
      {"the configuration is not committed",
       [](LogPosition&, ClusterReport& r) { r.conf_committed = false; }},
      {"the agent is a voter",
       [](LogPosition&, ClusterReport& r) { r.conf.voters.push_back(id(9)); }},
      {"the agent is a learner",
       [](LogPosition&, ClusterReport& r) { r.conf.learners.push_back(id(9)); }},
      {"an empty configuration", [](LogPosition&, ClusterReport& r) { r.conf.voters.clear(); }},
      {"the commit index is not past the agent's log",
       [](LogPosition&, ClusterReport& r) { r.commit = 100; }},
      {"the agent's log is longer", [](LogPosition& s, ClusterReport&) { s.last_index = 200; }},
  };
  for (const Case& c : cases) {
    LogPosition s = self();
    ClusterReport r = report();
    c.edit(s, r);
    EXPECT_FALSE(replaced_by_cluster(s, r)) << c.why;
  }
}

// A member probes only after kLeaderlessProbeAfter without a leader, then
// once per kLeaderlessProbeEvery; a leader heard of starts the wait again.
TEST(LeaderlessProbe, WaitsOutAnElectionThenProbesAtItsPace) {
  LeaderlessProbe p;
  const TimePoint t0 = time_at(std::chrono::seconds(100));
  EXPECT_FALSE(p.due(t0, false));
  EXPECT_FALSE(p.due(t0 + kLeaderlessProbeAfter - std::chrono::milliseconds(1), false));
  EXPECT_TRUE(p.due(t0 + kLeaderlessProbeAfter, false));
  EXPECT_FALSE(p.due(t0 + kLeaderlessProbeAfter + std::chrono::milliseconds(200), false));
  EXPECT_TRUE(p.due(t0 + kLeaderlessProbeAfter + kLeaderlessProbeEvery, false));
  // A leader, then none again: another full wait.
  const TimePoint t1 = t0 + std::chrono::seconds(20);
  EXPECT_FALSE(p.due(t1, true));
  EXPECT_FALSE(p.due(t1 + std::chrono::seconds(1), false));
  EXPECT_FALSE(p.due(t1 + std::chrono::seconds(1) + kLeaderlessProbeAfter / 2, false));
  EXPECT_TRUE(p.due(t1 + std::chrono::seconds(1) + kLeaderlessProbeAfter, false));
}

}  // namespace
}  // namespace shoal::node
