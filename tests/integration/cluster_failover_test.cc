// Failing over through every agent, not only the voters: with 3 voters and
// 2 observers, writes through any surviving agent succeed again within a
// few seconds of the leader's kill -9. Observers learn the new leader from
// the voters they ask at once (node/follow_plan.h), not from gossip, which
// takes seconds to declare the old leader dead.
//
// Address block 127.0.29.N, HTTP port 28310 (gossip +1, RPC +2).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

}  // namespace
}  // namespace shoal::testing
