// FollowClient (node/cluster/follow_client.h): an observer's requests, what it takes
// from the answers, snapshot assembly and the probes for a new leader.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "node/cluster/follow_client.h"

namespace shoal::node {
namespace {

using namespace std::chrono_literals;

NodeId id(uint64_t n) { return NodeId(0, n); }
TimePoint at(Duration d) { return time_at(d); }

raft::Entry entry(uint64_t index) {
  raft::Entry e;
  e.index = raft::Index(index);
  e.term = raft::Term(1);
  e.data = {static_cast<uint8_t>(index)};
  return e;
}

class FollowClientTest : public ::testing::Test {
 protected:
  std::vector<NodeId> voters{id(1), id(2), id(3)};
  NodeId self = id(9);
  FollowClient client;

  // The one follow request (not a probe) among `sends`.
  static FollowClient::Send request_in(const std::vector<FollowClient::Send>& sends) {
    auto it = std::find_if(sends.begin(), sends.end(),
                           [](const FollowClient::Send& s) { return !s.req.probe(); });
    EXPECT_NE(it, sends.end()) << "no follow request";
    return it == sends.end() ? FollowClient::Send{} : *it;
  }
  static size_t probes_in(const std::vector<FollowClient::Send>& sends) {
    return static_cast<size_t>(std::count_if(
        sends.begin(), sends.end(), [](const FollowClient::Send& s) { return s.req.probe(); }));
  }
  FollowResponse answer(const FollowRequest& req, uint64_t term, NodeId leader) {
    FollowResponse r;
    r.id = req.id;
    r.cluster_id = "c1";
    r.term = term;
    r.leader = leader;
    r.commit = 10;
    r.conf.voters = voters;
    return r;
  }
};

TEST_F(FollowClientTest, AsksAfterItsAppliedIndexAndTakesOnlyTheNextEntries) {
  auto first = request_in(client.step(at(0s), voters, self, 5));
  EXPECT_EQ(first.req.after, 5u);
  EXPECT_EQ(first.req.wait_ms, 1000u);
  EXPECT_EQ(first.req.max_bytes, kFollowMaxBytes);
  FollowResponse r = answer(first.req, 2, id(1));
  // 5 is applied already; 8 comes after a gap, so 6 and 7 only.
  r.entries = {entry(5), entry(6), entry(7), entry(8)};
  r.entries.back().index = raft::Index(9);
  auto out = client.on_response(first.to, r, at(10ms), 5);
  ASSERT_FALSE(out.ignored);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].index.value(), 6u);
  EXPECT_EQ(out.entries[1].index.value(), 7u);
  EXPECT_EQ(out.adopt_cluster_id, "c1") << "the first voter to answer names the cluster";
  EXPECT_TRUE(out.learned);
  EXPECT_EQ(client.known().leader, id(1));
  EXPECT_EQ(client.known().term, 2u);
  EXPECT_EQ(client.known().commit, 10u);
  // The next request carries what was learnt, to the same source.
  auto second = request_in(client.step(at(10ms), voters, self, 7));
  EXPECT_EQ(second.to, first.to);
  EXPECT_EQ(second.req.after, 7u);
  EXPECT_EQ(second.req.term, 2u);
  // A late duplicate of the first answer changes nothing.
  EXPECT_TRUE(client.on_response(first.to, r, at(20ms), 7).ignored);
}

TEST_F(FollowClientTest, AssemblesASnapshotFromChunksAndRestartsAMismatchedTransfer) {
  client.set_cluster_id("c1");
  auto req = request_in(client.step(at(0s), voters, self, 0)).req;
  FollowResponse r = answer(req, 1, id(1));
  r.has_snapshot = true;
  r.snapshot_meta.index = raft::Index(100);
  r.snapshot_size = 4;
  r.snapshot_offset = 0;
  r.snapshot_chunk = {1, 2};
  auto out = client.on_response(id(1), r, at(1ms), 0);
  EXPECT_FALSE(out.snapshot) << "half an image";
  req = request_in(client.step(at(1ms), voters, self, 0)).req;
  EXPECT_EQ(req.snapshot_index, 100u);
  EXPECT_EQ(req.snapshot_offset, 2u);
  // The voter compacted meanwhile: a chunk of another snapshot, mid-way.
  r = answer(req, 1, id(1));
  r.has_snapshot = true;
  r.snapshot_meta.index = raft::Index(200);
  r.snapshot_size = 4;
  r.snapshot_offset = 2;
  r.snapshot_chunk = {7, 8};
  out = client.on_response(id(1), r, at(2ms), 0);
  EXPECT_FALSE(out.snapshot);
  req = request_in(client.step(at(2ms), voters, self, 0)).req;
  EXPECT_EQ(req.snapshot_index, 200u);
  EXPECT_EQ(req.snapshot_offset, 0u) << "asks for the new snapshot from its start";
  r.id = req.id;
  r.snapshot_offset = 0;
  r.snapshot_chunk = {5, 6, 7, 8};
  out = client.on_response(id(1), r, at(3ms), 0);
  ASSERT_TRUE(out.snapshot);
  EXPECT_EQ(*out.snapshot, (std::vector<uint8_t>{5, 6, 7, 8}));
  EXPECT_EQ(out.snapshot_index, 200u);
  req = request_in(client.step(at(3ms), voters, self, 200)).req;
  EXPECT_EQ(req.snapshot_index, 0u);
  EXPECT_EQ(req.snapshot_offset, 0u);
}

TEST_F(FollowClientTest, ALostSourceMovesToAnotherVoterAndProbesTheRest) {
  client.set_cluster_id("c1");
  auto first = request_in(client.step(at(0s), voters, self, 0));
  client.failed(first.to, at(50ms));
  auto sends = client.step(at(50ms), voters, self, 0);
  auto second = request_in(sends);
  EXPECT_NE(second.to, first.to);
  // Probes go to the voters that are neither the new source nor given up.
  ASSERT_EQ(probes_in(sends), 1u);
  for (const auto& s : sends) {
    if (!s.req.probe()) continue;
    EXPECT_NE(s.to, first.to);
    EXPECT_NE(s.to, second.to);
  }
}

TEST_F(FollowClientTest, ABrokenConnectionToTheLeaderProbesTheVoters) {
  client.set_cluster_id("c1");
  auto first = request_in(client.step(at(0s), voters, self, 0));
  const NodeId leader = first.to == id(3) ? id(2) : id(3);
  client.on_response(first.to, answer(first.req, 4, leader), at(1ms), 0);
  EXPECT_EQ(probes_in(client.step(at(1ms), voters, self, 0)), 0u);
  client.failed(leader, at(2ms));  // the forward connection broke
  auto sends = client.step(at(2ms), voters, self, 0);
  EXPECT_EQ(probes_in(sends), 1u) << "the one voter neither source nor the lost leader";
  // The new leader is learnt from whichever probe answers first, at a newer
  // term; an older term or an error teaches nothing.
  const auto probe =
      std::find_if(sends.begin(), sends.end(), [](const auto& s) { return s.req.probe(); })->req;
  FollowResponse stale = answer(probe, 3, leader);
  EXPECT_FALSE(client.on_response(id(1), stale, at(3ms), 0).learned);
  auto probes = client.probes(at(3ms), voters, 4);
  ASSERT_FALSE(probes.empty());
  FollowResponse err = answer(probes[0].req, 9, id(1));
  err.error = "stopping";
  EXPECT_FALSE(client.on_response(probes[0].to, err, at(4ms), 0).learned);
  probes = client.probes(at(4ms), voters, 4);
  ASSERT_FALSE(probes.empty());
  auto out = client.on_response(probes[0].to, answer(probes[0].req, 5, first.to), at(5ms), 0);
  EXPECT_TRUE(out.learned);
  EXPECT_EQ(client.known().leader, first.to);
  EXPECT_EQ(client.known().term, 5u);
  EXPECT_TRUE(out.entries.empty()) << "a probe brings no entries";
}

TEST_F(FollowClientTest, AVoterOfAnotherClusterIsGivenUp) {
  client.set_cluster_id("c1");
  auto first = request_in(client.step(at(0s), voters, self, 0));
  FollowResponse r = answer(first.req, 1, id(1));
  r.cluster_id = "c2";
  r.entries = {entry(1)};
  auto out = client.on_response(first.to, r, at(1ms), 0);
  EXPECT_TRUE(out.other_cluster);
  EXPECT_TRUE(out.entries.empty());
  EXPECT_FALSE(out.learned);
  EXPECT_EQ(client.known().cluster_id, "c1");
  // It is avoided: after the retry pause the next request goes elsewhere.
  auto next = request_in(client.step(at(1100ms), voters, self, 0));
  EXPECT_NE(next.to, first.to);
}

TEST_F(FollowClientTest, AClusterIdThatCannotBeRecordedIsForgotten) {
  auto first = request_in(client.step(at(0s), voters, self, 0));
  auto out = client.on_response(first.to, answer(first.req, 1, id(1)), at(1ms), 0);
  ASSERT_EQ(out.adopt_cluster_id, "c1");
  client.adopt_failed(at(1ms));
  EXPECT_EQ(client.known().cluster_id, "");
  // The next answer brings the leader again as news, so the agent learns it.
  auto next = request_in(client.step(at(1ms), voters, self, 0));
  out = client.on_response(next.to, answer(next.req, 1, id(1)), at(2ms), 0);
  EXPECT_EQ(out.adopt_cluster_id, "c1");
  EXPECT_TRUE(out.learned);
  EXPECT_EQ(client.known().leader, id(1));
}

}  // namespace
}  // namespace shoal::node
