// The cluster issue end to end with real agents on loopback: agents started
// with --bootstrap-expect form one Raft cluster by themselves, any agent
// answers KV requests (forwarding writes to the leader over the encrypted
// RPC port), CAS conflicts answer 409, the leader's death is survived, data
// survives a restart of every agent, two clusters never merge, autopilot
// keeps --voters voters out of the agents and replaces a dead one, the API
// token is enforced, and a wrong-key peer gets nothing through RPC.
//
// Address blocks (one per test, so ctest can run them in parallel):
// 127.0.12.N .. 127.0.19.N and 127.0.26.N .. 127.0.28.N with HTTP ports
// 28200 .. 28300, and 127.0.33.N .. 127.0.36.N with 28340 .. 28370 (one
// block and port per test, in steps of 10); gossip +1, RPC +2.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/rng.h"
#include "node/cluster/cluster_rpc.h"
#include "node/net/rpc_transport.h"
#include "tests/integration/cluster_fixture.h"

namespace shoal::testing {
namespace {

// ---- Three agents with --bootstrap-expect 3 and an API token ----
//
// Each test starts its own cluster through start_three_with_token(), which
// also checks that they form one cluster (one leader, three voters) within
// 5 s. Every request but health carries the token (authed()).

// Writes app/k<i> = "value-<i>" through agent i, for each of the three agents
// (the followers forward theirs to the leader over RPC), and reads each back
// through the next agent.
void write_through_each_agent(const ClusterTest& t) {
  for (size_t i = 0; i < 3; ++i) {
    const std::string key = "app/k" + std::to_string(i);
    auto w = t.authed(i, "PUT", "/v1/kv/" + key, "value-" + std::to_string(i));
    ASSERT_TRUE(w);
    ASSERT_EQ(w->status, 200u) << w->body;
    EXPECT_TRUE(w->body.starts_with("true")) << w->body;
    EXPECT_FALSE(w->header("x-shoal-index").empty());
    const size_t other = (i + 1) % 3;
    auto r = t.authed(other, "GET", "/v1/kv/" + key + "?raw");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
    EXPECT_EQ(r->body, "value-" + std::to_string(i));
  }
}

TEST_F(ClusterTest, ThreeAgentsFormOneClusterOfThreeVotersWithinFiveSeconds) {
  add_agents(3, 12, 28200);
  std::string leader;
  ASSERT_NO_FATAL_FAILURE(start_three_with_token(&leader));
  // Raft peers: three voters, one leader, no observers.
  auto peers = authed(0, "GET", "/v1/raft/peers");
  ASSERT_TRUE(peers);
  json p = json::parse(peers->body, nullptr, false);
  ASSERT_TRUE(p.is_object()) << peers->body;
  EXPECT_EQ(p["voters"].size(), 3u);
  EXPECT_EQ(p["observers"].size(), 0u);
  EXPECT_EQ(p.value("leader", ""), leader);
}

TEST_F(ClusterTest, WithoutTheApiTokenAWriteIs403AndWritesNothingWhileHealthStaysOpen) {
  add_agents(3, 33, 28340);
  std::string leader;
  ASSERT_NO_FATAL_FAILURE(start_three_with_token(&leader));
  auto denied = kv(1, http::verb::put, "/v1/kv/app/x", "v");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403u) << denied->body;
  auto health = http_get(agents_[1]->ip(), agents_[1]->http_port(), "/v1/agent/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200u);
  // A write with the token through the same agent commits after anything
  // the denied one could have done; then app/x must still be missing.
  auto later = authed(1, "PUT", "/v1/kv/app/y", "v");
  ASSERT_TRUE(later);
  ASSERT_EQ(later->status, 200u) << later->body;
  auto denied_read = authed(0, "GET", "/v1/kv/app/x");
  ASSERT_TRUE(denied_read);
  EXPECT_EQ(denied_read->status, 404u) << "the unauthenticated PUT must not have written";
}

TEST_F(ClusterTest, AWriteThroughAnyAgentIsForwardedToTheLeaderAndReadThroughAnother) {
  add_agents(3, 34, 28350);
  std::string leader;
  ASSERT_NO_FATAL_FAILURE(start_three_with_token(&leader));
  ASSERT_NO_FATAL_FAILURE(write_through_each_agent(*this));
}

TEST_F(ClusterTest, ACasWithAStaleIndexIs409AndChangesNothingOnAnyAgent) {
  add_agents(3, 35, 28360);
  std::string leader;
  ASSERT_NO_FATAL_FAILURE(start_three_with_token(&leader));
  ASSERT_NO_FATAL_FAILURE(write_through_each_agent(*this));
  // The JSON form carries indexes; CAS with a stale index is 409 and changes nothing.
  auto entry = authed(2, "GET", "/v1/kv/app/k0");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->status, 200u);
  json e = json::parse(entry->body, nullptr, false);
  ASSERT_TRUE(e.is_object()) << entry->body;
  const uint64_t modify = e.value("modify_index", uint64_t{0});
  ASSERT_GT(modify, 0u);
  auto ok = authed(1, "PUT", "/v1/kv/app/k0?cas=" + std::to_string(modify), "second");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u) << ok->body;
  auto conflict = authed(2, "PUT", "/v1/kv/app/k0?cas=" + std::to_string(modify), "third");
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 409u) << conflict->body;
  auto create_only = authed(0, "PUT", "/v1/kv/app/k1?cas=0", "again");
  ASSERT_TRUE(create_only);
  EXPECT_EQ(create_only->status, 409u) << create_only->body;
  for (size_t i = 0; i < 3; ++i) {
    auto v = authed(i, "GET", "/v1/kv/app/k0?raw");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->body, "second") << "agent " << i;
  }
}

TEST_F(ClusterTest, ARecursiveListAndDeleteCoverEveryKeyUnderThePrefix) {
  add_agents(3, 36, 28370);
  std::string leader;
  ASSERT_NO_FATAL_FAILURE(start_three_with_token(&leader));
  ASSERT_NO_FATAL_FAILURE(write_through_each_agent(*this));
  auto list = authed(1, "GET", "/v1/kv/app/?recurse");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200u);
  json items = json::parse(list->body, nullptr, false);
  ASSERT_TRUE(items.is_array());
  EXPECT_EQ(items.size(), 3u);
  auto del = authed(2, "DELETE", "/v1/kv/app/?recurse");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200u) << del->body;
  auto gone = authed(0, "GET", "/v1/kv/app/k2");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404u);
}

TEST_F(ClusterTest, KillingTheLeaderWritesResumeWithinFiveSeconds) {
  add_agents(3, 13, 28210);
  int lead = -1;
  ASSERT_NO_FATAL_FAILURE(start_three(&lead));
  ASSERT_TRUE(put(static_cast<size_t>(lead), "before", "1")) << logs();

  agents_[static_cast<size_t>(lead)]->kill9();
  const auto killed = std::chrono::steady_clock::now();
  std::vector<size_t> rest;
  for (size_t i = 0; i < 3; ++i) {
    if (static_cast<int>(i) != lead) rest.push_back(i);
  }
  // A write through a survivor succeeds within 5 s of the kill.
  ASSERT_TRUE(put(rest[0], "after", "2", 5s)) << logs();
  const auto resumed = std::chrono::steady_clock::now() - killed;
  std::cerr << "writes resumed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(resumed).count() << " ms\n";
  EXPECT_LT(resumed, 5s);
  EXPECT_EQ(get_raw(rest[1], "before"), "1");
  EXPECT_EQ(get_raw(rest[1], "after"), "2");
}

// A write sent through a follower just after the leader died is not failed
// at once: the follower waits (up to 2 s) for the next leader and answers
// with its outcome.
TEST_F(ClusterTest, AWriteSentDuringAnElectionWaitsForTheNewLeader) {
  add_agents(3, 26, 28280);
  int lead = -1;
  ASSERT_NO_FATAL_FAILURE(start_three(&lead));
  ASSERT_TRUE(put(static_cast<size_t>(lead), "before", "1")) << logs();
  const size_t via = lead == 0 ? 1 : 0;

  agents_[static_cast<size_t>(lead)]->kill9();
  const auto killed = std::chrono::steady_clock::now();
  // No retry on 503: the agent waits for the leader itself. A write that
  // raced the close of the old connection (the follower had not yet seen
  // it break) is honestly 504, once; the next one must then succeed.
  auto r = kv(via, http::verb::put, "/v1/kv/during", "election");
  ASSERT_TRUE(r.has_value()) << logs();
  if (r->status == 504) r = kv(via, http::verb::put, "/v1/kv/during", "election");
  const auto took = std::chrono::steady_clock::now() - killed;
  ASSERT_TRUE(r.has_value()) << logs();
  EXPECT_EQ(r->status, 200u) << r->body << logs();
  std::cerr << "the write sent at the kill answered "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms later\n";
  EXPECT_LT(took, 5s);
  EXPECT_EQ(get_raw(via, "during"), "election");
}

// 504 and 503 tell a client what it needs to know: 504 when a write reached
// a leader that lost its quorum before committing it (it may or may not
// happen), 503 with Retry-After when nothing was done (no leader came
// within the wait).
TEST_F(ClusterTest, AnUncommittableWriteIs504AndAWriteNobodyTookIs503) {
  add_agents(3, 27, 28290);
  int lead = -1;
  ASSERT_NO_FATAL_FAILURE(start_three(&lead));
  const size_t leader = static_cast<size_t>(lead);
  ASSERT_TRUE(put(leader, "warm", "up")) << logs();
  std::vector<size_t> followers;
  for (size_t i = 0; i < 3; ++i) {
    if (i != leader) followers.push_back(i);
  }
  for (size_t f : followers) agents_[f]->process().send_signal(SIGSTOP);

  // The leader appends it, cannot commit it, and steps down (check quorum).
  auto unknown = kv(leader, http::verb::put, "/v1/kv/maybe", "applied");
  ASSERT_TRUE(unknown.has_value()) << logs();
  EXPECT_EQ(unknown->status, 504u) << unknown->body;

  // Now there is no leader at all: a write waits for one, then gets 503.
  const auto t0 = std::chrono::steady_clock::now();
  auto refused = kv(leader, http::verb::put, "/v1/kv/never", "applied");
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(refused.has_value()) << logs();
  EXPECT_EQ(refused->status, 503u) << refused->body;
  EXPECT_EQ(refused->header("retry-after"), "1");
  EXPECT_GE(waited, 1500ms) << "it did not wait for a leader";
  EXPECT_LT(waited, 5s);

  for (size_t f : followers) agents_[f]->process().send_signal(SIGCONT);
  ASSERT_TRUE(put(followers[0], "after", "pause")) << logs();
  // Nothing was done with the 503 write.
  auto never = kv(followers[0], http::verb::get, "/v1/kv/never");
  ASSERT_TRUE(never.has_value());
  EXPECT_EQ(never->status, 404u) << never->body;
}

// A write forwarded to a leader that is then paused is not held until the
// forward timeout: once another node leads and the old one has stayed
// silent for 200 ms more, the client gets 504 (the paused leader may still
// apply it, so nothing better can be said) and the next write succeeds.
TEST_F(ClusterTest, AWriteForwardedToAPausedLeaderIsReleasedOnceAnotherLeads) {
  add_agents(3, 28, 28300);
  int lead = -1;
  ASSERT_NO_FATAL_FAILURE(start_three(&lead));
  const size_t leader = static_cast<size_t>(lead);
  const size_t via = leader == 0 ? 1 : 0;
  ASSERT_TRUE(put(via, "before", "1")) << logs();

  agents_[leader]->process().send_signal(SIGSTOP);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = kv(via, http::verb::put, "/v1/kv/during", "pause");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.has_value()) << "no answer within 10 s" << logs();
  EXPECT_EQ(r->status, 504u) << r->body;
  EXPECT_LT(took, 4s);
  ASSERT_TRUE(put(via, "after", "2", 5s)) << logs();
  agents_[leader]->process().send_signal(SIGCONT);
}

TEST_F(ClusterTest, StoppingAndRestartingEveryAgentKeepsTheData) {
  add_agents(3, 14, 28220);
  for (size_t i = 0; i < 3; ++i) start(i, {"--bootstrap-expect", "3"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(put(static_cast<size_t>(k % 3), "keep/" + std::to_string(k), std::to_string(k)))
        << logs();
  }
  json before = status(0);
  for (auto& a : agents_) {
    auto st = a->stop();
    ASSERT_TRUE(st && st->ok()) << (st ? st->describe() : "did not stop") << logs();
  }
  // Restarted without --bootstrap-expect: the data dirs hold the cluster.
  for (size_t i = 0; i < 3; ++i) start(i, {});
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  ASSERT_TRUE(eventually([&] { return agreed_leader({0, 1, 2}) >= 0; }, 10s, 50ms)) << logs();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(status(i).value("cluster_id", ""), before.value("cluster_id", "x"));
  }
  for (int k = 0; k < 20; ++k) {
    EXPECT_EQ(get_raw(static_cast<size_t>((k + 1) % 3), "keep/" + std::to_string(k)),
              std::to_string(k));
  }
}

TEST_F(ClusterTest, TwoClustersStartedApartRefuseToMerge) {
  add_agents(6, 15, 28230);
  // a1-a3 join a1; a4-a6 join a4: two clusters.
  for (size_t i = 0; i < 3; ++i) start(i, {"--bootstrap-expect", "3"});
  for (size_t i = 3; i < 6; ++i) start(i, {"--bootstrap-expect", "3"}, ip(3));
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  ASSERT_TRUE(eventually(
      [&] {
        return agreed_leader({0, 1, 2}) >= 0 && agreed_leader({3, 4, 5}) >= 0;
      },
      10s, 50ms))
      << logs();
  const std::string c1 = status(0).value("cluster_id", "");
  const std::string c2 = status(3).value("cluster_id", "");
  ASSERT_FALSE(c1.empty());
  ASSERT_NE(c1, c2);
  ASSERT_TRUE(put(0, "who", "one"));
  ASSERT_TRUE(put(3, "who", "two"));

  // Join them: the push-pull is refused, so neither side learns the other.
  auto r = http_post(agents_[0]->ip(), agents_[0]->http_port(), "/v1/agent/join",
                     R"({"addrs":[")" + agents_[3]->gossip_addr() + R"("]})", 10s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 200u) << r->body;
  // Give gossip a few rounds, then check both clusters are unchanged.
  std::this_thread::sleep_for(2s);  // integration test: observing that nothing happens
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(agents_[i]->count_status("alive"), 3u) << agents_[i]->members().dump();
    EXPECT_EQ(status(i).value("cluster_id", ""), i < 3 ? c1 : c2);
    EXPECT_EQ(status(i).value("voters", 0), 3);
  }
  EXPECT_EQ(get_raw(1, "who"), "one");
  EXPECT_EQ(get_raw(4, "who"), "two");
}

TEST_F(ClusterTest, FiveAgentsKeepThreeVotersAndReplaceADeadOne) {
  add_agents(5, 16, 28240);
  for (size_t i = 0; i < 3; ++i) {
    start(i, {"--bootstrap-expect", "3", "--voters", "3", "--dead-voter-grace", "10s"});
  }
  for (size_t i = 3; i < 5; ++i) start(i, {"--voters", "3", "--dead-voter-grace", "10s"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  auto peers_of = [&](size_t i) { return agents_[i]->get_json("/v1/raft/peers"); };
  auto shape = [&](size_t i, size_t voters, size_t observers) {
    json p = peers_of(i);
    return p.is_object() && p["voters"].size() == voters && p["observers"].size() == observers &&
           p["learners"].empty();
  };
  ASSERT_TRUE(eventually([&] { return shape(0, 3, 2) && shape(4, 3, 2); }, 15s, 100ms))
      << peers_of(0).dump() << logs();
  // The leader writes every agent into the replicated node registry, which
  // observers see too.
  ASSERT_TRUE(eventually([&] { return status(4).value("nodes", 0) == 5; }, 10s, 100ms))
      << status(4).dump();
  // Observers follow the log: a write shows up in their local replica.
  ASSERT_TRUE(put(3, "seen/by", "observers"));
  ASSERT_TRUE(eventually([&] { return get_raw(4, "seen/by", true) == "observers"; }, 5s, 50ms));

  // Kill a voter that is not the leader; after the grace an observer replaces it.
  int lead = -1;
  ASSERT_TRUE(eventually([&] { return (lead = agreed_leader({0, 1, 2})) >= 0; }, 10s, 50ms));
  const size_t victim = lead == 0 ? 1 : 0;
  json self = agents_[victim]->get_json("/v1/agent/self");
  const std::string victim_id = self.value("id", "");
  agents_[victim]->kill9();
  const auto killed = std::chrono::steady_clock::now();
  auto replaced = [&] {
    json p = peers_of(static_cast<size_t>(lead));
    if (!p.is_object() || p["voters"].size() != 3 || !p["learners"].empty()) return false;
    for (const auto& v : p["voters"]) {
      if (v.value("id", "") == victim_id) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(replaced, 60s, 200ms))
      << peers_of(static_cast<size_t>(lead)).dump() << logs();
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_GE(took, 10s) << "a voter must not be replaced before its grace";
  // The new voter set still takes writes.
  ASSERT_TRUE(put(static_cast<size_t>(lead), "after/replace", "ok"));
}

TEST_F(ClusterTest, AWrongKeyPeerGetsNoRpcThrough) {
  add_agents(1, 17, 28250);
  start(0, {"--bootstrap-expect", "1"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  ASSERT_TRUE(put(0, "secret", "kept"));

  // An RPC client holding another key dials the agent's RPC port and sends a
  // forwarded write. The handshake must fail; nothing is written.
  crypto::init();
  auto wrong = crypto::ClusterKey::from_base64(new_key());
  ASSERT_TRUE(wrong.is_ok());
  boost::asio::io_context io;
  node::RpcOptions o;
  o.bind = boost::asio::ip::make_address("127.0.17.9");
  o.reconnect_backoff_min = 50ms;
  size_t failures = 0;
  size_t answers = 0;
  Rng rng(7);
  node::RpcClient client(
      io, crypto::Keyring(*wrong), NodeId::random(rng), "", o,
      [&](const NodeId&, std::vector<uint8_t>, node::RpcReply) { ++answers; },
      [&](const boost::asio::ip::tcp::endpoint&, const Status&, size_t, bool) { ++failures; });
  node::ForwardRequest f;
  f.id = 1;
  f.method = "PUT";
  f.target = "/v1/kv/secret";
  f.body = "stolen";
  const boost::asio::ip::tcp::endpoint to(boost::asio::ip::make_address(agents_[0]->ip()), 28252);
  ASSERT_TRUE(client.send(to, node::encode_frame(f)).is_ok());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (failures == 0 && std::chrono::steady_clock::now() < deadline) io.run_for(50ms);
  client.stop();
  EXPECT_GE(failures, 1u);
  EXPECT_EQ(answers, 0u);
  EXPECT_EQ(get_raw(0, "secret"), "kept");
  ASSERT_TRUE(eventually(
      [&] {
        auto v = metric_value(agents_[0]->metrics(), "shoal_rpc_handshakes_failed_auth_total");
        return v && *v >= 1;
      },
      5s, 50ms))
      << agents_[0]->metrics();
}

TEST_F(ClusterTest, SnapshotRestoreBlockingQueriesAndTransferWorkThroughAFollower) {
  add_agents(3, 18, 28260);
  int lead = -1;
  ASSERT_NO_FATAL_FAILURE(start_three(&lead));
  const size_t follower = lead == 0 ? 1 : 0;
  ASSERT_TRUE(put(follower, "snap/a", "1"));
  ASSERT_TRUE(put(follower, "snap/b", "2"));

  // Save through a follower (forwarded to the leader), then change things.
  auto saved = kv(follower, http::verb::get, "/v1/snapshot");
  ASSERT_TRUE(saved);
  ASSERT_EQ(saved->status, 200u) << saved->body;
  ASSERT_FALSE(saved->body.empty());
  ASSERT_TRUE(put(follower, "snap/c", "3"));
  auto del = kv(follower, http::verb::delete_, "/v1/kv/snap/a");
  ASSERT_TRUE(del && del->status == 200u);

  // A blocking query on the third agent waits for the next change.
  auto now = kv(2, http::verb::get, "/v1/kv/snap/b");
  ASSERT_TRUE(now && now->status == 200u);
  const std::string index = now->header("x-shoal-index");
  ASSERT_FALSE(index.empty());
  std::optional<HttpResult> woken;
  std::thread blocked(
      [&] { woken = kv(2, http::verb::get, "/v1/kv/snap/b?index=" + index + "&wait=20s"); });

  // Restore through the follower: every agent goes back to the saved state.
  auto restored = kv(follower, http::verb::put, "/v1/snapshot", saved->body);
  ASSERT_TRUE(restored);
  ASSERT_EQ(restored->status, 200u) << restored->body;
  blocked.join();
  ASSERT_TRUE(woken);
  EXPECT_EQ(woken->status, 200u);
  EXPECT_GT(std::stoull(woken->header("x-shoal-index")), std::stoull(index));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(get_raw(i, "snap/a"), "1") << "agent " << i;
    EXPECT_EQ(get_raw(i, "snap/c"), std::nullopt) << "agent " << i;
  }
  // A body that is no snapshot is refused and changes nothing.
  auto junk = kv(follower, http::verb::put, "/v1/snapshot", "not a snapshot");
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->status, 400u) << junk->body;
  EXPECT_EQ(get_raw(static_cast<size_t>(lead), "snap/b"), "2");

  // Leadership moves where it is asked (the third agent), through a follower.
  const size_t target = 3 - static_cast<size_t>(lead) - follower;
  const std::string target_name = agents_[target]->name();
  auto moved = kv(follower, http::verb::post, "/v1/raft/transfer-leader",
                  R"({"to":")" + target_name + R"("})");
  ASSERT_TRUE(moved);
  ASSERT_EQ(moved->status, 200u) << moved->body;
  EXPECT_NE(moved->body.find(target_name), std::string::npos) << moved->body;
  ASSERT_TRUE(eventually(
      [&] {
        return agreed_leader({0, 1, 2}) == static_cast<int>(target);
      },
      5s, 50ms));
  ASSERT_TRUE(put(follower, "after/transfer", "ok"));
}

// An observer that starts after the voters compacted their logs catches up
// from a voter's snapshot, then follows the entries after it.
TEST_F(ClusterTest, ALateObserverCatchesUpFromASnapshot) {
  add_agents(3, 19, 28270);
  for (size_t i = 0; i < 3; ++i) {
    start(i, {"--bootstrap-expect", "3", "--raft-snapshot-threshold", "20"});
  }
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  for (int k = 0; k < 60; ++k) {
    ASSERT_TRUE(put(static_cast<size_t>(k % 3), "early/" + std::to_string(k), std::to_string(k)))
        << logs();
  }
  add_agents(1, 19, 28270, 3);
  start(3, {"--raft-snapshot-threshold", "20"});
  std::string why;
  ASSERT_TRUE(agents_[3]->wait_healthy(&why)) << why;
  ASSERT_TRUE(eventually([&] { return get_raw(3, "early/59", true) == "59"; }, 10s, 100ms))
      << status(3).dump() << logs();
  EXPECT_NE(agents_[3]->err().find("follow: restored the snapshot"), std::string::npos)
      << "the observer should have started from a snapshot";
  for (int k = 0; k < 60; k += 7) {
    EXPECT_EQ(get_raw(3, "early/" + std::to_string(k), true), std::to_string(k));
  }
  // And keeps following what comes after.
  ASSERT_TRUE(put(0, "late/key", "v"));
  ASSERT_TRUE(eventually([&] { return get_raw(3, "late/key", true) == "v"; }, 5s, 50ms));
  EXPECT_EQ(status(3).value("role", ""), "observer");
}

}  // namespace
}  // namespace shoal::testing
