// The agent's gossip settings and HTTP endpoints with real agents on
// 127.0.4.N (ports 282NN): the cluster key requirement, the persisted and
// seeded keyring, --insecure, /v1/agent/self's gossip facts, join and
// keyring input validation, joining over HTTP and the CLI, and blocking
// queries on the lists that gossip backs (/v1/members, /v1/raft/peers).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using nlohmann::json;

class GossipApiTest : public ::testing::Test {
 protected:
  TestAgent& add(const std::string& name, const std::string& ip, uint16_t http_port) {
    agents_.push_back(std::make_unique<TestAgent>(
        name, ip, http_port, static_cast<uint16_t>(http_port + 1), root_.path()));
    return *agents_.back();
  }
  void start(TestAgent& a, const std::vector<std::string>& args) {
    a.start(args);
    std::string why;
    ASSERT_TRUE(a.wait_healthy(&why)) << why;
  }
  std::optional<HttpResult> post(TestAgent& a, const std::string& path, const std::string& body,
                                 Millis timeout = 10s) {
    return http_post(a.ip(), a.http_port(), path, body, timeout);
  }

  TempDir root_;
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

TEST_F(GossipApiTest, WithoutAKeyTheAgentRefusesBeforeTouchingTheDataDir) {
  const auto dir = root_.path() / "data";
  auto r = run_shoal({"agent", "--bind", "127.0.4.1", "--http-port", "28200", "--gossip-port",
                      "28201", "--data-dir", dir.string()});
  EXPECT_EQ(r.status.describe(), "exit code 2") << r.err;
  auto err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_EQ(err[0],
            "shoal: no cluster key: give --encrypt KEY (make one with `shoal keygen`) or "
            "--keyring-file FILE, or --insecure to run without authentication");
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the refused agent created its data dir";
}

TEST_F(GossipApiTest, ACorruptPersistedKeyringIsAClearError) {
  const auto dir = root_.path() / "data";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "keyring") << "{\"primary\": 42}\n";
  auto r = run_shoal({"agent", "--bind", "127.0.4.2", "--http-port", "28210", "--gossip-port",
                      "28211", "--data-dir", dir.string(), "--encrypt", new_key()});
  EXPECT_EQ(r.status.describe(), "exit code 1") << r.err;
  auto err = lines(r.err);
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err.back().find((dir / "keyring").string() + " is not a keyring"), std::string::npos)
      << err.back();
}

TEST_F(GossipApiTest, AKeyringFileSeedsThePersistedKeyring) {
  const std::string k1 = new_key();
  const std::string k2 = new_key();
  const auto file = root_.path() / "keys.txt";
  std::ofstream(file) << k1 << "\n" << k2 << "\n";
  TestAgent& a = add("k1", "127.0.4.3", 28220);
  ASSERT_NO_FATAL_FAILURE(start(a, {"--keyring-file", file.string()}));
  auto keys = a.get_json("/v1/keyring?local");
  ASSERT_EQ(keys["keys"].size(), 2u) << keys;
  EXPECT_EQ(keys["keys"][0]["id"], key_id_of(k1));
  EXPECT_EQ(keys["keys"][0]["primary"], true);
  EXPECT_EQ(keys["keys"][1]["id"], key_id_of(k2));
  EXPECT_EQ(keys["keys"][1]["primary"], false);
  // The API never serves key material, to anyone.
  EXPECT_EQ(keys.dump().find(k1), std::string::npos) << keys;
  EXPECT_EQ(keys.dump().find(k2), std::string::npos) << keys;

  struct stat st {};
  ASSERT_EQ(::stat((a.data_dir() / "keyring").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ring = json::parse(read_file(a.data_dir() / "keyring"));
  EXPECT_EQ(ring["primary"], k1);
  EXPECT_EQ(ring["keys"], json::array({k1, k2}));

  // Cluster-wide list on a one-node cluster: counts of one.
  auto listed = a.get_json("/v1/keyring", 10s);
  EXPECT_EQ(listed.dump().find(k1), std::string::npos) << listed;
  EXPECT_EQ(listed.dump().find(k2), std::string::npos) << listed;
  EXPECT_EQ(listed["nodes"], 1) << listed;
  EXPECT_EQ(listed["keys"][0]["nodes"], 1) << listed;
  EXPECT_EQ(listed["keys"][0]["primary_nodes"], 1) << listed;
}

TEST_F(GossipApiTest, InsecureAgentSaysSoAndSelfShowsItsGossipFacts) {
  TestAgent& a = add("ins", "127.0.4.4", 28230);
  ASSERT_NO_FATAL_FAILURE(
      start(a, {"--insecure", "--attr", "zone=eu-1", "--attr", "os=plan9", "--resources",
                "cpu=1500,memory=512", "--cluster-label", "blue"}));
  EXPECT_NE(a.err().find("INSECURE"), std::string::npos) << a.err();
  auto self = a.get_json("/v1/agent/self");
  EXPECT_EQ(self["addresses"]["gossip"], "127.0.4.4:28231") << self;
  EXPECT_EQ(self["addresses"]["advertise"], "127.0.4.4") << self;
  EXPECT_EQ(self["attrs"]["zone"], "eu-1") << self;
  EXPECT_EQ(self["attrs"]["os"], "plan9") << "--attr wins over detection: " << self;
  for (const char* k : {"arch", "kernel.version", "cpu.cores", "memory.mb", "hostname"}) {
    EXPECT_TRUE(self["attrs"].contains(k)) << k << " missing: " << self;
  }
  EXPECT_EQ(self["resources"], json({{"cpu_mhz", 1500}, {"memory_mb", 512}})) << self;
  EXPECT_EQ(self["gossip"]["encrypted"], false) << self;
  EXPECT_EQ(self["gossip"]["cluster_label"], "blue") << self;
  EXPECT_EQ(self["gossip"]["profile"], "lan") << self;

  auto members = a.members();
  ASSERT_EQ(members.size(), 1u) << members;
  EXPECT_EQ(members[0]["name"], "ins");
  EXPECT_EQ(members[0]["addr"], "127.0.4.4");
  EXPECT_EQ(members[0]["status"], "alive");
  EXPECT_EQ(members[0]["attrs"]["zone"], "eu-1");

  EXPECT_EQ(a.get_json("/v1/keyring"), json({{"insecure", true}, {"keys", json::array()}}));
  auto change = post(a, "/v1/keyring", json({{"op", "install"}, {"key", new_key()}}).dump());
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->status, 409u) << change->body;
  EXPECT_FALSE(std::filesystem::exists(a.data_dir() / "keyring"));

  auto metrics = http_get(a.ip(), a.http_port(), "/v1/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200u);
  EXPECT_EQ(metrics->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* series :
       {"shoal_gossip_packets_rejected_total{reason=\"auth\"} 0",
        "shoal_gossip_packets_rejected_total{reason=\"replay\"} 0",
        "shoal_gossip_packets_rejected_total{reason=\"decode\"} 0",
        "shoal_gossip_members{status=\"alive\"} 1", "# TYPE shoal_gossip_probes_total counter",
        "shoal_gossip_health_score 0"}) {
    EXPECT_NE(metrics->body.find(series), std::string::npos) << series << "\n" << metrics->body;
  }
}

TEST_F(GossipApiTest, BadJoinAndKeyringRequestsAre400WithTheField) {
  const std::string key = new_key();
  TestAgent& a = add("v1", "127.0.4.5", 28240);
  ASSERT_NO_FATAL_FAILURE(start(a, {"--encrypt", key, "--gossip-profile", "local"}));
  struct Case {
    std::string path;
    std::string body;
    unsigned status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/v1/agent/join", "not json", 400, ""},
      {"/v1/agent/join", R"({"addrs": []})", 400, "addrs"},
      {"/v1/agent/join", R"({"addrs": [7]})", 400, "addrs"},
      {"/v1/agent/join", R"({"addrs": ["1.2.3.4:99999"]})", 400, "addrs"},
      {"/v1/agent/join", R"({"addrs": ["127.0.4.5:28241"]})", 400, "addrs"},  // itself
      {"/v1/keyring", "[]", 400, ""},
      {"/v1/keyring", R"({"op": "frob", "key": ")" + key + "\"}", 400, "op"},
      {"/v1/keyring", R"({"op": "list"})", 400, "op"},
      {"/v1/keyring", R"({"op": "install", "key": "abc"})", 400, "key"},
      {"/v1/keyring", R"({"op": "install"})", 400, "key"},
      {"/v1/keyring", R"({"op": "use", "key": ")" + key + "\"}", 400, "key"},
      {"/v1/keyring", R"({"op": "remove", "key": ")" + key + "\"}", 400, "key"},
      {"/v1/keyring", R"({"op": "use", "key_id": ")" + key_id_of(new_key()) + "\"}", 400, "key_id"},
      {"/v1/keyring", R"({"op": "remove", "key_id": ")" + key_id_of(key) + "\"}", 400, "key_id"},
      {"/v1/keyring", R"({"op": "use", "key_id": "12345"})", 400, "key_id"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path + " " + c.body);
    auto r = post(a, c.path, c.body);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, c.status) << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_TRUE(j.contains("error")) << r->body;
    if (!c.field.empty()) {
      EXPECT_EQ(j.value("field", ""), c.field) << r->body;
    }
  }
  // Nobody listens there: 503 once the attempt failed.
  auto r = post(a, "/v1/agent/join", R"({"addrs": ["127.0.4.99:28249"]})", 25s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503u) << r->body;
  EXPECT_NE(r->body.find("no seed answered"), std::string::npos) << r->body;
}

TEST_F(GossipApiTest, JoinOverTheCliBringsTwoAgentsTogether) {
  const std::string key = new_key();
  TestAgent& a = add("j1", "127.0.4.6", 28250);
  TestAgent& b = add("j2", "127.0.4.7", 28250);
  ASSERT_NO_FATAL_FAILURE(start(a, {"--encrypt", key, "--gossip-profile", "local"}));
  ASSERT_NO_FATAL_FAILURE(start(b, {"--encrypt", key, "--gossip-profile", "local"}));
  EXPECT_EQ(b.members().size(), 1u);

  // The port defaults to the local agent's --gossip-port.
  auto joined = run_shoal({"join", a.ip()}, {b.shoal_addr()}, 30s);
  EXPECT_EQ(joined.status.describe(), "exit code 0") << joined.err;
  EXPECT_EQ(joined.out, "joined the cluster: 1 of 1 address(es) answered\n");
  ASSERT_TRUE(eventually(
      [&] { return a.count_status("alive") == 2 && b.count_status("alive") == 2; }, 10s, 50ms));

  auto table = run_shoal({"members"}, {b.shoal_addr()});
  EXPECT_EQ(table.status.describe(), "exit code 0") << table.err;
  auto rows = lines(table.out);
  ASSERT_EQ(rows.size(), 3u) << table.out;
  EXPECT_TRUE(rows[0].starts_with("NAME")) << rows[0];
  EXPECT_NE(rows[0].find("INCARNATION"), std::string::npos) << rows[0];
  EXPECT_TRUE(rows[1].starts_with("j1 ")) << table.out;
  EXPECT_NE(rows[1].find("127.0.4.6:28251"), std::string::npos) << table.out;
  EXPECT_NE(rows[1].find("alive"), std::string::npos) << table.out;
  EXPECT_TRUE(rows[2].starts_with("j2 ")) << table.out;

  auto js = run_shoal({"members", "--json"}, {b.shoal_addr()});
  EXPECT_EQ(js.status.describe(), "exit code 0") << js.err;
  auto members = json::parse(js.out, nullptr, false);
  ASSERT_TRUE(members.is_array()) << js.out;
  EXPECT_EQ(members.size(), 2u);
  for (const auto& m : members) {
    for (const char* k : {"name", "id", "addr", "status", "incarnation", "attrs"}) {
      EXPECT_TRUE(m.contains(k)) << k << " missing: " << m;
    }
  }
}

// One blocking GET of `path` with index=`index`: the answer, how long it took,
// and the index it carries. Checks what every blocking answer must satisfy:
// an X-Shoal-Index, and either an index past the one asked for or a wait
// that ran out.
struct Blocked {
  json body;
  uint64_t index = 0;
  std::chrono::milliseconds took{0};
};
Blocked blocking_get(TestAgent& a, const std::string& path, uint64_t index,
                     std::chrono::milliseconds wait) {
  const auto start = std::chrono::steady_clock::now();
  auto r = http_get(
      a.ip(), a.http_port(),
      path + "?index=" + std::to_string(index) + "&wait=" + std::to_string(wait.count()) + "ms",
      wait + 10s);
  Blocked out;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(r.has_value()) << path << " did not answer";
  if (!r) return out;
  EXPECT_EQ(r->status, 200u) << r->body;
  const std::string header = r->header("x-shoal-index");
  EXPECT_FALSE(header.empty()) << path << " has no X-Shoal-Index";
  out.index = header.empty() ? 0 : std::stoull(header);
  out.body = json::parse(r->body, nullptr, false);
  if (out.index == index) {
    EXPECT_GE(out.took, wait - 100ms) << path << " answered early with the index it was given";
  } else {
    EXPECT_GT(out.index, index) << path << ": the local counter went backwards";
  }
  return out;
}

// Follows `path` with blocking queries until `done(body)`; fails after 15 s.
// Returns the number of answers it took.
int follow_until(TestAgent& a, const std::string& path,
                 const std::function<bool(const json&)>& done, uint64_t* index) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (int answers = 1; std::chrono::steady_clock::now() < deadline; ++answers) {
    Blocked b = blocking_get(a, path, *index, 5s);
    *index = b.index;
    if (done(b.body)) return answers;
  }
  ADD_FAILURE() << path << " never showed the change";
  return 0;
}

TEST_F(GossipApiTest, BlockingQueriesOnMembersAndRaftPeersAnswerWhenTheViewChanges) {
  const std::string key = new_key();
  TestAgent& a = add("q1", "127.0.4.8", 28260);
  TestAgent& b = add("q2", "127.0.4.9", 28260);
  ASSERT_NO_FATAL_FAILURE(
      start(a, {"--encrypt", key, "--gossip-profile", "local", "--bootstrap-expect", "1"}));
  ASSERT_NO_FATAL_FAILURE(start(b, {"--encrypt", key, "--gossip-profile", "local"}));

  auto first = http_get(a.ip(), a.http_port(), "/v1/members");
  ASSERT_TRUE(first.has_value());
  uint64_t members_index = std::stoull(first->header("x-shoal-index"));
  EXPECT_GE(members_index, 1u);
  // Nothing changes on a one-member view: the wait runs out, same index.
  Blocked quiet = blocking_get(a, "/v1/members", members_index, 400ms);
  if (quiet.index == members_index) {
    EXPECT_EQ(quiet.body.size(), 1u);
  }
  members_index = quiet.index;
  auto peers = http_get(a.ip(), a.http_port(), "/v1/raft/peers");
  ASSERT_TRUE(peers.has_value());
  uint64_t peers_index = std::stoull(peers->header("x-shoal-index"));

  // Queries that block now, on both lists, see the join.
  auto members_done = std::async(std::launch::async, [&] {
    return follow_until(
        a, "/v1/members", [](const json& m) { return m.is_array() && m.size() == 2; },
        &members_index);
  });
  auto peers_done = std::async(std::launch::async, [&] {
    return follow_until(
        a, "/v1/raft/peers",
        [](const json& p) {
          // b shows up as an observer, or already as a learner or voter
          // (autopilot wants 3 voters).
          return p.is_object() &&
                 p["voters"].size() + p["learners"].size() + p["observers"].size() == 2;
        },
        &peers_index);
  });
  // Both queries wait, and the agent's metrics count them.
  auto waiting = [&] {
    auto r = http_get(a.ip(), a.http_port(), "/v1/metrics");
    if (!r) return -1.0;
    const std::string name = "shoal_http_blocking_queries ";
    const size_t at = r->body.find("\n" + name);
    return at == std::string::npos ? -1.0 : std::stod(r->body.substr(at + 1 + name.size()));
  };
  EXPECT_TRUE(eventually([&] { return waiting() == 2; }, 5s, 20ms)) << waiting();
  const auto join_at = std::chrono::steady_clock::now();
  auto joined = post(b, "/v1/agent/join", json{{"addrs", {a.gossip_addr()}}}.dump());
  ASSERT_TRUE(joined.has_value());
  EXPECT_EQ(joined->status, 200u) << joined->body;
  EXPECT_GT(members_done.get(), 0);
  EXPECT_GT(peers_done.get(), 0);
  // Woken by the change, not by the end of a 5 s wait.
  EXPECT_LT(std::chrono::steady_clock::now() - join_at, 4s);

  // A bad blocking query is a 400 naming the field, on every list.
  for (const char* path : {"/v1/members?index=x", "/v1/raft/peers?wait=1s"}) {
    auto bad = http_get(a.ip(), a.http_port(), path);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->status, 400u) << path;
    auto j = json::parse(bad->body, nullptr, false);
    EXPECT_EQ(j.value("field", ""),
              std::string(path).find("wait") != std::string::npos ? "wait" : "index")
        << bad->body;
  }
}

}  // namespace
}  // namespace shoal::testing
