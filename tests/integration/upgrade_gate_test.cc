// The upgrade gate (node/cluster/upgrade_gate.h) end to end: a voter that
// advertises an older state schema than a write needs holds the write back.
// Every real build understands every entry it writes, so a voter of schema
// 0 is a test fault (SHOAL_TEST_FAULTS=old-state-schema, node/host/test_faults.h)
// and the test runs only in a -DSHOAL_TEST_FAULTS=ON build.
//
// Address block 127.0.37.N (HTTP port 28380); gossip +1, RPC +2.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "node/host/test_faults.h"
#include "tests/integration/cluster_fixture.h"

namespace shoal::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Whether agent `viewer`'s gossip shows the member `name` with `tag`.
bool sees_tag(const TestAgent& viewer, const std::string& name, const std::string& tag) {
  const json members = viewer.members();
  if (!members.is_array()) return false;
  for (const json& m : members) {
    if (!m.is_object() || m.value("name", "") != name || !m.contains("tags")) continue;
    for (const json& t : m["tags"]) {
      if (t.is_string() && t.get<std::string>() == tag) return true;
    }
  }
  return false;
}

TEST_F(ClusterTest, AVoterOfAnOlderStateSchemaHoldsBackWritesUntilItIsUpgraded) {
  if (!node::test_faults_built()) GTEST_SKIP() << "needs a -DSHOAL_TEST_FAULTS=ON build";
  add_agents(3, 37, 28380);
  const std::vector<std::string> flags = {"--bootstrap-expect", "3"};
  start(0, flags);
  agents_[1]->start(args(1, flags), {"SHOAL_TEST_FAULTS=old-state-schema"});
  start(2, flags);
  ASSERT_NO_FATAL_FAILURE(wait_healthy());
  ASSERT_TRUE(eventually([&] { return agreed_leader({0, 1, 2}) >= 0; }, 15s, 50ms)) << logs();
  // Everyone's gossip knows that a2 understands no entry.
  ASSERT_TRUE(eventually(
      [&] {
        for (size_t i = 0; i < 3; ++i) {
          if (!sees_tag(agent(i), "a2", "state=0")) return false;
        }
        return true;
      },
      10s, 100ms))
      << agent(0).members().dump() << logs();

  // A write through any agent (a2 included, whichever leads) is refused with
  // 503 and Retry-After, naming a2, and never proposed.
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE("through a" + std::to_string(i + 1));
    std::optional<HttpResult> r;
    // Polled past other 503s (no leader known yet); a 200 ends it too.
    ASSERT_TRUE(eventually(
        [&] {
          r = kv(i, http::verb::put, "/v1/kv/gated", "v");
          return r && (r->status != 503 || r->body.find("upgrade") != std::string::npos);
        },
        10s, 100ms))
        << (r ? r->body : "no answer") << logs();
    ASSERT_EQ(r->status, 503u) << r->body;
    EXPECT_EQ(r->header("retry-after"), "1");
    EXPECT_NE(r->body.find("upgrade in progress"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("voter a2 understands state schema 0"), std::string::npos) << r->body;
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(get_raw(i, "gated", true), std::nullopt) << "a" << i + 1 << " has the key";
  }

  // a2 comes back on its data dir as today's build: once its new tag has
  // gossiped, the same write goes through and reaches everyone.
  ASSERT_TRUE(agents_[1]->stop().has_value());
  const auto restarted = Clock::now();
  start(1, flags);
  std::string why;
  ASSERT_TRUE(agents_[1]->wait_healthy(&why)) << why;
  ASSERT_TRUE(put(0, "gated", "v", 15s)) << logs();
  std::cerr
      << "write accepted "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted).count()
      << " ms after a2's restart\n";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(eventually([&] { return get_raw(i, "gated", true) == "v"; }, 10s, 100ms))
        << "a" << i + 1 << logs();
  }
}

}  // namespace
}  // namespace shoal::testing
