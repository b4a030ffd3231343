// Cluster formation decisions (node/cluster/cluster_bootstrap.h): who publishes
// what, when the N candidates form, and when nobody may.
#include <gtest/gtest.h>

#include "node/cluster/cluster_bootstrap.h"

namespace shoal::node {
namespace {

NodeId id(uint64_t n) { return NodeId(0, n); }

BootstrapPeer peer(uint64_t n, uint32_t expect, std::vector<uint64_t> cands = {}) {
  BootstrapPeer p;
  p.id = id(n);
  p.expect = expect;
  for (uint64_t c : cands) p.candidates.push_back(id(c));
  return p;
}

std::vector<NodeId> ids(std::vector<uint64_t> ns) {
  std::vector<NodeId> out;
  for (uint64_t n : ns) out.push_back(id(n));
  return out;
}

TEST(ClusterBootstrap, WaitsUntilNAgentsWithTheSameNAreInView) {
  auto d = decide_bootstrap(id(1), 3, false, {peer(1, 3), peer(2, 3)});
  EXPECT_FALSE(d.form);
  EXPECT_TRUE(d.publish.empty());
  EXPECT_NE(d.status.find("2 of 3"), std::string::npos) << d.status;
  // An agent with another N does not count.
  d = decide_bootstrap(id(1), 3, false, {peer(1, 3), peer(2, 3), peer(3, 5)});
  EXPECT_FALSE(d.form);
  EXPECT_TRUE(d.publish.empty());
}

TEST(ClusterBootstrap, PublishesTheNLowestIdsThenFormsWhenAllAgree) {
  // Five agents expect 3: the three lowest ids are the candidates.
  std::vector<BootstrapPeer> m = {peer(5, 3), peer(2, 3), peer(9, 3), peer(1, 3), peer(7, 3)};
  auto d = decide_bootstrap(id(2), 3, false, m);
  EXPECT_EQ(d.publish, ids({1, 2, 5}));
  EXPECT_FALSE(d.form) << "the others have not published yet";
  // Everyone publishes the same set: the candidates form, the rest wait.
  for (auto& p : m) p.candidates = ids({1, 2, 5});
  for (uint64_t n : {1, 2, 5}) {
    auto dn = decide_bootstrap(id(n), 3, false, m);
    ASSERT_TRUE(dn.form) << n << ": " << dn.status;
    EXPECT_EQ(dn.voters, ids({1, 2, 5}));
    EXPECT_EQ(dn.cluster_id, cluster_id_for(ids({5, 1, 2}))) << "the same id on every candidate";
  }
  auto d7 = decide_bootstrap(id(7), 3, false, m);
  EXPECT_FALSE(d7.form);
  EXPECT_EQ(d7.publish, ids({1, 2, 5}));
}

TEST(ClusterBootstrap, ADisagreeingCandidateHoldsEveryoneBack) {
  // Node 5 still sees an older view and publishes another set.
  std::vector<BootstrapPeer> m = {peer(1, 3, {1, 2, 5}), peer(2, 3, {1, 2, 5}),
                                  peer(5, 3, {2, 5, 8})};
  auto d = decide_bootstrap(id(1), 3, false, m);
  EXPECT_FALSE(d.form);
  EXPECT_NE(d.status.find("2 of 3"), std::string::npos) << d.status;
}

TEST(ClusterBootstrap, StateOrAClusterIdAnywhereStopsIt) {
  std::vector<BootstrapPeer> m = {peer(1, 3, {1, 2, 3}), peer(2, 3, {1, 2, 3}),
                                  peer(3, 3, {1, 2, 3})};
  EXPECT_TRUE(decide_bootstrap(id(1), 3, false, m).form);
  EXPECT_FALSE(decide_bootstrap(id(1), 3, /*has_state=*/true, m).form) << "never again";
  auto with_cluster = m;
  BootstrapPeer old = peer(4, 0);
  old.cluster_id = "c0ffee00c0ffee00c0ffee00c0ffee00";
  with_cluster.push_back(old);
  auto d = decide_bootstrap(id(1), 3, false, with_cluster);
  EXPECT_FALSE(d.form);
  EXPECT_NE(d.status.find("c0ffee00"), std::string::npos) << d.status;
  auto with_state = m;
  with_state[2].has_state = true;
  EXPECT_FALSE(decide_bootstrap(id(1), 3, false, with_state).form);
  EXPECT_FALSE(decide_bootstrap(id(1), 0, false, m).form) << "join-only agents never form";
}

TEST(ClusterBootstrap, ACandidateLateToSeeTheAgreementFormsTheSameCluster) {
  // Candidate 2 saw everyone agree first and formed; 1 and 3 see its
  // cluster id before they see the agreement. They are its voters: they
  // form the same cluster rather than wait as observers (with 2 of 3 voters
  // silent the cluster could elect no leader).
  std::vector<BootstrapPeer> m = {peer(1, 3, {1, 2, 3}), peer(2, 3, {1, 2, 3}),
                                  peer(3, 3, {1, 2, 3})};
  m[1].cluster_id = cluster_id_for(ids({1, 2, 3}));
  m[1].has_state = true;
  for (uint64_t n : {1, 3}) {
    auto d = decide_bootstrap(id(n), 3, false, m);
    ASSERT_TRUE(d.form) << n << ": " << d.status;
    EXPECT_EQ(d.voters, ids({1, 2, 3}));
    EXPECT_EQ(d.cluster_id, m[1].cluster_id);
  }
  // Not for another cluster, a candidate that published another set, or an
  // agent outside the set.
  auto other = m;
  other[1].cluster_id = "c0ffee00c0ffee00c0ffee00c0ffee00";
  EXPECT_FALSE(decide_bootstrap(id(1), 3, false, other).form);
  auto disagree = m;
  disagree[0].candidates = ids({1, 3, 4});
  EXPECT_FALSE(decide_bootstrap(id(1), 3, false, disagree).form);
  auto outsider = m;
  outsider.push_back(peer(4, 3, {1, 2, 3}));
  EXPECT_FALSE(decide_bootstrap(id(4), 3, false, outsider).form);
  EXPECT_FALSE(decide_bootstrap(id(1), 3, /*has_state=*/true, m).form) << "never twice";
}

TEST(ClusterBootstrap, OneAgentAloneFormsWithExpectOne) {
  auto d = decide_bootstrap(id(4), 1, false, {peer(4, 1)});
  EXPECT_TRUE(d.form);
  EXPECT_EQ(d.voters, ids({4}));
}

TEST(ClusterBootstrap, TagsRoundTripAndBadOnesAreRefused) {
  const std::string tag = format_bootstrap_tag(3, ids({1, 2, 5}));
  auto back = parse_bootstrap_tag(tag);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->first, 3u);
  EXPECT_EQ(back->second, ids({1, 2, 5}));
  auto empty = parse_bootstrap_tag(format_bootstrap_tag(3, {}));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->second.empty());
  EXPECT_EQ(parse_bootstrap_tag("zone=a").status().code(), StatusCode::kNotFound);
  const std::string one = id(1).to_string();
  const std::string two = id(2).to_string();
  const std::vector<std::string> bads = {"bootstrap=0:",
                                         "bootstrap=x:",
                                         "bootstrap=12:",
                                         "bootstrap=3",
                                         "bootstrap=1:" + one + "," + two,  // more ids than N
                                         "bootstrap=3:" + two + "," + one,  // unsorted
                                         "bootstrap=3:nothex",
                                         "bootstrap=3:" + one + ","};
  for (const std::string& bad : bads) {
    EXPECT_EQ(parse_bootstrap_tag(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

gossip::Member gm(uint64_t n, std::vector<std::string> tags = {},
                  gossip::MemberStatus status = gossip::MemberStatus::kAlive) {
  gossip::Member m;
  m.id = id(n);
  m.status = status;
  m.meta.tags = std::move(tags);
  return m;
}

TEST(ClusterBootstrap, TheViewHoldsAliveMembersWithTheirPublishedSets) {
  const std::string set = format_bootstrap_tag(3, ids({1, 2, 3}));
  std::vector<gossip::Member> members = {
      gm(1, {"zone=a", set}),
      gm(2, {format_bootstrap_tag(3, {})}, gossip::MemberStatus::kSuspect),
      gm(3, {set}, gossip::MemberStatus::kDead),
      gm(4, {set}, gossip::MemberStatus::kLeft),
      gm(5, {"bootstrap=3:nothex"}),
  };
  auto view = bootstrap_view(members, id(9), 3, "");
  ASSERT_EQ(view.size(), 3u) << "dead and left members are not in view";
  EXPECT_EQ(view[0].id, id(1));
  EXPECT_EQ(view[0].expect, 3u);
  EXPECT_EQ(view[0].candidates, ids({1, 2, 3}));
  EXPECT_FALSE(view[0].has_state);
  EXPECT_EQ(view[1].id, id(2)) << "a suspect member is still in view";
  EXPECT_EQ(view[1].expect, 3u);
  EXPECT_TRUE(view[1].candidates.empty());
  EXPECT_EQ(view[2].id, id(5));
  EXPECT_EQ(view[2].expect, 0u) << "a malformed tag counts as none";
  EXPECT_FALSE(cluster_in_view(view));
}

TEST(ClusterBootstrap, TheViewMarksMembersWithAClusterOrARaftRole) {
  std::vector<gossip::Member> members = {gm(1), gm(2), gm(3), gm(4)};
  members[0].meta.cluster_id = "c0ffee00c0ffee00c0ffee00c0ffee00";
  members[1].meta.role = "voter";
  members[2].meta.role = "learner";
  members[3].meta.role = "observer";
  auto view = bootstrap_view(members, id(9), 3, "");
  ASSERT_EQ(view.size(), 4u);
  EXPECT_TRUE(view[0].has_state);
  EXPECT_EQ(view[0].cluster_id, "c0ffee00c0ffee00c0ffee00c0ffee00");
  EXPECT_TRUE(view[1].has_state);
  EXPECT_TRUE(view[2].has_state);
  EXPECT_FALSE(view[3].has_state) << "an observer of no cluster holds nothing";
  EXPECT_TRUE(cluster_in_view(view));
  EXPECT_FALSE(cluster_in_view(std::span(view).subspan(3)));
}

TEST(ClusterBootstrap, SelfInTheViewIsWhatThisAgentKnows) {
  // Its own gossip entry may lag: N and the cluster id come from the agent;
  // the set it published last comes from gossip.
  gossip::Member self = gm(1, {format_bootstrap_tag(5, ids({1, 2}))});
  self.meta.role = "voter";
  auto view = bootstrap_view(std::span(&self, 1), id(1), 3, "");
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view[0].expect, 3u);
  EXPECT_EQ(view[0].candidates, ids({1, 2}));
  EXPECT_FALSE(view[0].has_state);
  EXPECT_TRUE(view[0].cluster_id.empty());
  view = bootstrap_view(std::span(&self, 1), id(1), 3, "abc");
  EXPECT_TRUE(view[0].has_state);
  EXPECT_EQ(view[0].cluster_id, "abc");
}

TEST(ClusterBootstrap, TheTagToPublish) {
  BootstrapDecision d;
  EXPECT_EQ(bootstrap_tag_to_publish(3, false, d), "bootstrap=3:") << "N before any set";
  d.publish = ids({1, 2, 5});
  EXPECT_EQ(bootstrap_tag_to_publish(3, false, d), format_bootstrap_tag(3, ids({1, 2, 5})));
  EXPECT_EQ(bootstrap_tag_to_publish(3, true, d), "") << "a cluster is in view";
  EXPECT_EQ(bootstrap_tag_to_publish(0, false, d), "") << "no --bootstrap-expect";
}

}  // namespace
}  // namespace shoal::node
