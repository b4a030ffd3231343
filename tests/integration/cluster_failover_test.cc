// Failing over through every agent, not only the voters: with 3 voters and
// 2 observers, writes through any surviving agent succeed again within a
// few seconds of the leader's kill -9. Observers learn the new leader from
// the voters they ask at once (node/cluster/follow_plan.h), not from gossip, which
// takes seconds to declare the old leader dead.
//
// A voter that autopilot replaced while it was away comes back as an
// observer on its own, its old Raft log moved aside (node/cluster/replaced_voter.h).
//
// Address blocks 127.0.29.N (HTTP port 28310) and 127.0.31.N (28320);
// gossip +1, RPC +2.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cluster_fixture.h"

namespace shoal::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds from `since` until a write through agent `i` first succeeds
// (each attempt on a fresh connection, 3 s at most); -1 if none within 15 s.
int64_t first_write_after(ClusterTest& t, size_t i, Clock::time_point since,
                          const std::string& tag) {
  for (int n = 0; Clock::now() - since < 15s; ++n) {
    HttpConnection c;
    if (c.connect(t.agent(i).ip(), t.agent(i).http_port(), 1s)) {
      auto r = c.request(http::verb::put, "/v1/kv/failover/" + tag + "/" + std::to_string(n), "x",
                         false, 3s);
      if (r && r->status == 200) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
      }
    }
    std::this_thread::sleep_for(20ms);  // pacing of a real client's retries
  }
  return -1;
}

TEST_F(ClusterTest, WritesThroughObserversResumeWithinSecondsOfALeaderKill) {
  add_agents(5, 29, 28310);
  for (size_t i = 0; i < 3; ++i) start(i, {"--bootstrap-expect", "3", "--voters", "3"});
  for (size_t i = 3; i < 5; ++i) start(i, {"--voters", "3"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  ASSERT_TRUE(eventually(
      [&] {
        json p = agents_[0]->get_json("/v1/raft/peers");
        return p.is_object() && p["voters"].size() == 3 && p["observers"].size() == 2;
      },
      15s, 100ms))
      << logs();
  // Both observers are caught up and long-poll a voter each: the voters hold
  // two follow requests between them.
  auto held = [&] {
    double n = 0;
    for (size_t i = 0; i < 3; ++i) {
      n += metric_value(agents_[i]->metrics(), "shoal_follow_requests_held").value_or(0);
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return held() == 2; }, 10s, 100ms)) << held();
  int64_t worst_voter = 0, worst_observer = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("kill " + std::to_string(round + 1));
    int lead = -1;
    ASSERT_TRUE(eventually(
        [&] {
          return (lead = agreed_leader({0, 1, 2})) >= 0;
        },
        15s, 50ms))
        << logs();
    // Every agent writes once first: observers know the leader and follow.
    for (size_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(put(i, "warm/" + std::to_string(round) + "/" + std::to_string(i), "1", 15s))
          << "through a" << i + 1 << logs();
    }
    agents_[static_cast<size_t>(lead)]->kill9();
    const auto killed = Clock::now();
    std::vector<size_t> survivors;
    for (size_t i = 0; i < 5; ++i) {
      if (static_cast<int>(i) != lead) survivors.push_back(i);
    }
    std::vector<int64_t> took(survivors.size(), -1);
    std::vector<std::thread> clients;
    for (size_t k = 0; k < survivors.size(); ++k) {
      clients.emplace_back([&, k] {
        took[k] = first_write_after(*this, survivors[k], killed,
                                    std::to_string(round) + "-" + std::to_string(survivors[k]));
      });
    }
    for (auto& c : clients) c.join();
    for (size_t k = 0; k < survivors.size(); ++k) {
      const bool observer = survivors[k] >= 3;
      std::cerr << "kill " << round + 1 << ": first write through a" << survivors[k] + 1
                << (observer ? " (observer)" : " (voter)") << " after " << took[k] << " ms\n";
      ASSERT_GE(took[k], 0) << "no write through a" << survivors[k] + 1 << logs();
      (observer ? worst_observer : worst_voter) =
          std::max(observer ? worst_observer : worst_voter, took[k]);
    }
    // The old leader comes back on its data dir, as a voter again.
    start(static_cast<size_t>(lead), {"--bootstrap-expect", "3", "--voters", "3"},
          ip(survivors.front()));
    std::string why;
    ASSERT_TRUE(agents_[static_cast<size_t>(lead)]->wait_healthy(&why)) << why;
  }
  std::cerr << "worst of 3 kills: voters " << worst_voter << " ms, observers " << worst_observer
            << " ms\n";
  // Issue 13 asks for 3 s at worst; before observers asked the voters
  // themselves they took 7-9 s (until gossip declared the leader dead). The
  // bound leaves room for a loaded CI machine.
  EXPECT_LT(worst_voter, 4500);
  EXPECT_LT(worst_observer, 4500);
}

TEST_F(ClusterTest, AReplacedVoterComesBackAsAnObserverWithItsOldLogMovedAside) {
  add_agents(5, 31, 28320);
  const std::vector<std::string> flags = {"--voters", "3", "--dead-voter-grace", "10s"};
  auto with_expect = flags;
  with_expect.insert(with_expect.end(), {"--bootstrap-expect", "3"});
  for (size_t i = 0; i < 3; ++i) start(i, with_expect);
  for (size_t i = 3; i < 5; ++i) start(i, flags);
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  int lead = -1;
  ASSERT_TRUE(eventually(
      [&] {
        return (lead = agreed_leader({0, 1, 2})) >= 0;
      },
      15s, 50ms))
      << logs();
  ASSERT_TRUE(put(static_cast<size_t>(lead), "before", "1")) << logs();
  const size_t victim = lead == 0 ? 1 : 0;
  const std::string victim_id = agents_[victim]->get_json("/v1/agent/self").value("id", "");
  ASSERT_FALSE(victim_id.empty());
  agents_[victim]->kill9();

  // Autopilot replaces it (after the 10 s grace) with an observer.
  auto voters_without_victim = [&] {
    json p = agents_[static_cast<size_t>(lead)]->get_json("/v1/raft/peers");
    if (!p.is_object() || p["voters"].size() != 3 || !p["learners"].empty()) return false;
    for (const auto& v : p["voters"]) {
      if (v.value("id", "") == victim_id) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(voters_without_victim, 60s, 200ms)) << logs();
  ASSERT_TRUE(put(static_cast<size_t>(lead), "while-away", "2")) << logs();

  // It returns on its old data dir, whose log still names it a voter.
  start(victim, flags, ip(static_cast<size_t>(lead)));
  std::string why;
  ASSERT_TRUE(agents_[victim]->wait_healthy(&why)) << why;
  // The old log is moved beside, never deleted, once the agent has heard
  // from the leader that it was replaced.
  auto moved = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(agents_[victim]->data_dir())) {
      if (e.path().filename().string().starts_with("raft.replaced-")) ++n;
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return moved() == 1; }, 30s, 200ms)) << logs();
  ASSERT_TRUE(
      eventually([&] { return status(victim).value("role", "") == "observer"; }, 10s, 200ms))
      << status(victim).dump() << logs();
  EXPECT_FALSE(std::filesystem::exists(agents_[victim]->data_dir() / "raft"));
  // It follows the log again (what was written while it was away included)
  // and takes writes.
  ASSERT_TRUE(eventually([&] { return get_raw(victim, "while-away", true) == "2"; }, 10s, 100ms))
      << logs();
  EXPECT_TRUE(put(victim, "after", "3")) << logs();
  EXPECT_TRUE(voters_without_victim());
}

}  // namespace
}  // namespace shoal::testing
