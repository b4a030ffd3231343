// The cluster commands of the `shoal` CLI — status, kv, raft, snapshot — and
// the API client under them (token, error answers, large bodies): usage
// errors and an unreachable agent, then every command against a fake agent
// (node::HttpServer in process on 127.0.11.1) that records each request and
// answers what the test says. Addresses: 127.0.11.N.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "node/http/http_router.h"
#include "node/http/http_server.h"
#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using node::HttpMethod;
using node::HttpRequest;
using node::HttpResponse;

// Nothing listens here: connecting fails at once.
constexpr const char* kClosedAddr = "127.0.11.250:1";
const std::string kId1 = "0123456789abcdef0123456789abcdef";
const std::string kId2 = "fedcba9876543210fedcba9876543210";

// ---------------------------------------------------------------- usage

struct UsageCase {
  std::vector<std::string> args;
  std::string must_mention;  // the stderr line names the culprit
};

class ClusterCmdUsage : public ::testing::TestWithParam<UsageCase> {};

// Exit code 2, one line on stderr, nothing on stdout — and the agent is never
// asked: SHOAL_ADDR is a closed port, so a request would make it exit code 1.
TEST_P(ClusterCmdUsage, IsOneLineOnStderrAndExitCode2) {
  const UsageCase& c = GetParam();
  auto r = run_shoal(c.args, {std::string("SHOAL_ADDR=") + kClosedAddr});
  expect_usage_error(r, c.must_mention);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, ClusterCmdUsage,
    ::testing::Values(
        UsageCase{{"status", "stray"}, "unexpected argument \"stray\""},
        UsageCase{{"status", "--frobnicate"}, "unknown flag --frobnicate"},
        UsageCase{{"kv"}, "kv needs a command"}, UsageCase{{"kv", "frob"}, "frob"},
        UsageCase{{"kv", "get"}, "KEY"}, UsageCase{{"kv", "get", ""}, "KEY"},
        UsageCase{{"kv", "put"}, "KEY"}, UsageCase{{"kv", "delete"}, "KEY"},
        UsageCase{{"kv", "get", "k", "--frobnicate"}, "unknown flag --frobnicate"},
        UsageCase{{"kv", "get", "k", "--raw", "--json"}, "--json"},
        UsageCase{{"kv", "put", "k", "v", "--cas", "abc"}, "--cas"},
        UsageCase{{"kv", "put", "k", "v", "--cas", "-1"}, "--cas"},
        UsageCase{{"kv", "put", "k", "v", "--cas"}, "--cas"},
        UsageCase{{"kv", "delete", "k", "--cas", "x"}, "--cas"},
        UsageCase{{"kv", "delete", "k", "--cas", "3", "--recurse"}, "--cas"},
        UsageCase{{"kv", "put", "k", "v", "extra"}, "unexpected argument \"extra\""},
        UsageCase{{"raft"}, "raft needs a command"},
        UsageCase{{"raft", "transfer-leader", "a", "b"}, "unexpected argument \"b\""},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent"}, "--peers"},
        UsageCase{{"raft", "recover", "--peers", kId1}, "--data-dir"},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent", "--peers", "xyz"}, "\"xyz\""},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent", "--peers", kId1 + ",zz"},
                  "\"zz\""},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent", "--peers", kId1 + "0"},
                  "--peers"},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent", "--peers", kId1 + ","},
                  "--peers"},
        UsageCase{{"raft", "recover", "--data-dir", "/nonexistent", "--peers", kId1 + "," + kId1},
                  "twice"},
        // recover never talks to the agent, so it takes no token.
        UsageCase{{"raft", "recover", "--data-dir", "/x", "--peers", kId1, "--token", "t"},
                  "unknown flag --token"},
        UsageCase{{"snapshot"}, "snapshot needs a command"},
        UsageCase{{"snapshot", "save"}, "FILE"}, UsageCase{{"snapshot", "restore"}, "FILE"},
        UsageCase{{"status", "--token", "two words"}, "--token"},
        UsageCase{{"keygen", "--token", "t"}, "unknown flag --token"}),
    [](const ::testing::TestParamInfo<UsageCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(ClusterCmds, AnUnreachableAgentIsExitOneWithOneLineNamingTheAddress) {
  TempDir dir;
  const std::string snap = (dir.path() / "in.snap").string();
  std::ofstream(snap) << "snapshot bytes";
  const std::string saved = (dir.path() / "out.snap").string();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                               {"kv", "get", "k"},
                                               {"kv", "put", "k", "v"},
                                               {"kv", "delete", "k"},
                                               {"kv", "list"},
                                               {"raft", "peers"},
                                               {"raft", "transfer-leader"},
                                               {"snapshot", "save", saved},
                                               {"snapshot", "restore", snap}}) {
    auto r = run_shoal(args, {std::string("SHOAL_ADDR=") + kClosedAddr});
    EXPECT_EQ(r.status.describe(), "exit code 1") << args[0] << ": " << r.err;
    auto err_lines = lines(r.err);
    ASSERT_EQ(err_lines.size(), 1u) << r.err;
    EXPECT_TRUE(err_lines[0].starts_with("shoal: cannot reach the agent at http://127.0.11.250:1"))
        << err_lines[0];
    EXPECT_EQ(r.out, "");
  }
  EXPECT_FALSE(std::filesystem::exists(saved));
}

TEST(ClusterCmds, RaftRecoverChecksTheDataDirBeforeAsking) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope").string();
  auto r = run_shoal({"raft", "recover", "--data-dir", missing, "--peers", kId1, "--yes"});
  EXPECT_EQ(r.status.describe(), "exit code 1") << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  // A directory without Raft state (not a server's data dir).
  r = run_shoal({"raft", "recover", "--data-dir", dir.path().string(), "--peers", kId1, "--yes"});
  EXPECT_EQ(r.status.describe(), "exit code 1") << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find((dir.path() / "raft").string()), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ClusterCmds, RaftRecoverAbortsUnlessTheUserTypesRecover) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "raft");
  // stdin is /dev/null: no answer is not a yes.
  auto r = run_shoal(
      {"raft", "recover", "--data-dir", dir.path().string(), "--peers", kId1 + "," + kId2});
  EXPECT_EQ(r.status.describe(), "exit code 1") << r.err;
  EXPECT_EQ(r.err, "shoal: aborted\n");
  EXPECT_NE(r.out.find(kId1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kId2), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Type 'recover'"), std::string::npos) << r.out;
  EXPECT_EQ(list_dir(dir.path() / "raft"), std::vector<std::string>{});
}

TEST(ClusterCmds, RaftRecoverReportsAStoreWithoutRaftStateInOneLine) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "raft");
  auto r =
      run_shoal({"raft", "recover", "--data-dir", dir.path().string(), "--peers", kId1, "--yes"});
  EXPECT_EQ(r.status.describe(), "exit code 1") << r.err;
  auto err_lines = lines(r.err);
  ASSERT_EQ(err_lines.size(), 1u) << r.err;
  EXPECT_TRUE(err_lines[0].starts_with("shoal: raft recover: ")) << err_lines[0];
  EXPECT_NE(err_lines[0].find((dir.path() / "raft").string()), std::string::npos) << err_lines[0];
  // The plan was shown, but nothing was asked (--yes) and nothing recovered.
  EXPECT_NE(r.out.find(kId1), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Type 'recover'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("new voters"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------- fake agent

struct Recorded {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
  std::string content_type;
};

class FakeAgentTest : public ::testing::Test {
 protected:
  FakeAgentTest() : router_(std::make_shared<node::Router>()) {
    const auto handler = [this](const HttpRequest& req) {
      std::lock_guard lock(mu_);
      Recorded r;
      r.method = req.method == HttpMethod::get    ? "GET"
                 : req.method == HttpMethod::put  ? "PUT"
                 : req.method == HttpMethod::post ? "POST"
                                                  : "DELETE";
      r.target = req.target;
      r.body = req.body;
      const auto auth = req.headers["Authorization"];
      r.authorization.assign(auth.data(), auth.size());
      const auto type = req.headers["Content-Type"];
      r.content_type.assign(type.data(), type.size());
      requests_.push_back(r);
      return answer_ ? answer_(req) : HttpResponse::error(500, "no answer set");
    };
    for (auto [method, pattern] : std::vector<std::pair<HttpMethod, const char*>>{
             {HttpMethod::get, "/v1/status"},
             {HttpMethod::get, "/v1/kv/*key"},
             {HttpMethod::put, "/v1/kv/*key"},
             {HttpMethod::delete_, "/v1/kv/*key"},
             {HttpMethod::get, "/v1/raft/peers"},
             {HttpMethod::post, "/v1/raft/transfer-leader"},
             {HttpMethod::get, "/v1/snapshot"},
             {HttpMethod::put, "/v1/snapshot"}}) {
      router_->add(method, pattern, handler);
    }
  }

  void SetUp() override {
    server_ = std::make_unique<node::HttpServer>(io_, router_);
    Status st = server_->listen({asio::ip::make_address("127.0.11.1"), 0});
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    addr_ = "SHOAL_ADDR=http://127.0.11.1:" + std::to_string(server_->local_endpoint().port());
    runner_ = std::thread([this] { io_.run(); });
  }

  ~FakeAgentTest() override {
    if (runner_.joinable()) {
      std::promise<void> stopped;
      asio::post(io_, [&] {
        server_->stop();
        stopped.set_value();
      });
      stopped.get_future().wait();
      runner_.join();
    }
  }

  void answer(std::function<HttpResponse(const HttpRequest&)> f) {
    std::lock_guard lock(mu_);
    answer_ = std::move(f);
  }
  void answer(HttpResponse r) {
    answer([r](const HttpRequest&) { return r; });
  }
  void answer_json(const json& j) { answer(HttpResponse::json(200, j)); }

  // `shoal args...` against the fake agent, without a token from the
  // environment unless env sets one.
  RunResult shoal(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
    if (std::none_of(env.begin(), env.end(),
                     [](const auto& e) { return e.starts_with("SHOAL_TOKEN="); })) {
      env.push_back("SHOAL_TOKEN=");
    }
    env.push_back(addr_);
    return run_shoal(args, env);
  }

  std::vector<Recorded> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  Recorded last() {
    auto all = requests();
    return all.empty() ? Recorded{} : all.back();
  }

  asio::io_context io_;
  std::shared_ptr<node::Router> router_;
  std::unique_ptr<node::HttpServer> server_;
  std::thread runner_;
  std::string addr_;
  std::mutex mu_;
  std::function<HttpResponse(const HttpRequest&)> answer_;
  std::vector<Recorded> requests_;
};

#define EXPECT_EXIT_CODE(r, code) EXPECT_EQ((r).status.describe(), "exit code " #code) << (r).err

TEST_F(FakeAgentTest, TheTokenFlagWinsOverTheEnvironment) {
  answer_json({{"leader", ""}, {"term", 1}});
  auto r = shoal({"status", "--token", "flag-token"}, {"SHOAL_TOKEN=env-token"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().authorization, "Bearer flag-token");

  r = shoal({"status"}, {"SHOAL_TOKEN=env-token"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().authorization, "Bearer env-token");

  r = shoal({"status"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().authorization, "");

  // Nested subcommands and the older commands take it too.
  answer(HttpResponse::error(404, "no such key", "key"));
  r = shoal({"kv", "get", "k", "--token", "t2"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(last().authorization, "Bearer t2");
  auto members = shoal({"members", "--token", "t3"});
  EXPECT_EQ(lines(members.err).size(), 1u) << members.err;  // no route: the fake answers 404
  EXPECT_EQ(members.err.find("--token"), std::string::npos) << members.err;
}

TEST_F(FakeAgentTest, ErrorAnswersAreOneLineWithTheRightExitCode) {
  answer(HttpResponse::error(403, "permission denied: bad or missing API token"));
  auto r = shoal({"status"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: permission denied: bad or missing API token\n");
  EXPECT_EQ(r.out, "");

  HttpResponse unavailable = HttpResponse::error(503, "no Raft leader yet");
  unavailable.headers.emplace_back("Retry-After", "5");
  answer(unavailable);
  r = shoal({"raft", "peers"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: no Raft leader yet (retry after 5s)\n");

  answer(HttpResponse::error(503, "no Raft leader yet"));
  r = shoal({"kv", "list", "app"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: no Raft leader yet\n");

  answer(HttpResponse::error(400, "key: must not contain \"..\"", "key"));
  r = shoal({"kv", "put", "a/../b", "v"});
  EXPECT_EXIT_CODE(r, 2);
  EXPECT_EQ(r.err, "shoal: key: must not contain \"..\"\n");
}

TEST_F(FakeAgentTest, StatusPrintsAlignedLinesOrTheJson) {
  const json status = {{"cluster_id", "c0ffee"},
                       {"leader", kId1},
                       {"leader_name", "node-1"},
                       {"term", 4},
                       {"commit_index", 120},
                       {"applied_index", 119},
                       {"role", "voter"},
                       {"members_alive", 3},
                       {"voters", 3},
                       {"bootstrap", "formed by 3 agents"},
                       {"jobs", 0},
                       {"allocs_running", 0}};
  answer_json(status);
  auto r = shoal({"status"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().method + " " + last().target, "GET /v1/status");
  EXPECT_EQ(r.out,
            "Cluster:       c0ffee\n"
            "Leader:        node-1 (01234567)\n"
            "Role:          voter\n"
            "Term:          4\n"
            "Commit index:  120\n"
            "Applied index: 119\n"
            "Members alive: 3\n"
            "Voters:        3\n"
            "Bootstrap:     formed by 3 agents\n");
  EXPECT_EQ(r.err, "");

  r = shoal({"status", "--json"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(json::parse(r.out, nullptr, false), status);
}

TEST_F(FakeAgentTest, KvGetPrintsTheValueBytesAndPercentEncodesTheKey) {
  // "hi\n\0\xff" in base64.
  const std::string value("hi\n\0\xff", 5);
  answer_json(
      {{"key", "a b/ü?x"}, {"value", "aGkKAP8="}, {"create_index", 3}, {"modify_index", 9}});
  auto r = shoal({"kv", "get", "a b/ü?x"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, value);
  EXPECT_EQ(last().target, "/v1/kv/a%20b/%C3%BC%3Fx");

  r = shoal({"kv", "get", "k", "--stale", "--json"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().target, "/v1/kv/k?stale");
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("value", ""), "aGkKAP8=");

  HttpResponse raw;
  raw.content_type = "application/octet-stream";
  raw.body = value;
  answer(raw);
  r = shoal({"kv", "get", "k", "--raw"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().target, "/v1/kv/k?raw");
  EXPECT_EQ(r.out, value);

  answer(HttpResponse::error(404, "no such key", "key"));
  r = shoal({"kv", "get", "missing"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: key \"missing\" not found\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(FakeAgentTest, KvPutSendsTheValueAndTheCheckAndSetIndex) {
  answer_json(true);
  auto r = shoal({"kv", "put", "app/x", "v1", "--cas", "5"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "Success! Data written to: app/x\n");
  auto req = last();
  EXPECT_EQ(req.method + " " + req.target, "PUT /v1/kv/app/x?cas=5");
  EXPECT_EQ(req.body, "v1");
  EXPECT_EQ(req.content_type, "application/octet-stream");

  r = shoal({"kv", "put", "app/x", "v2", "--cas", "0"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().target, "/v1/kv/app/x?cas=0");

  answer(HttpResponse::error(409, "check-and-set failed: the modify index differs", "cas"));
  r = shoal({"kv", "put", "app/x", "v3", "--cas", "4"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: check-and-set failed: the modify index differs\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(FakeAgentTest, KvPutReadsTheValueFromStdin) {
  answer_json(true);
  TempDir logs;
  for (const char* dash : {"", " -"}) {
    Process p({"/bin/sh", "-c", "printf 'from\\nstdin' | \"$0\" kv put k" + std::string(dash),
               shoal_binary()},
              logs.path(), {addr_, "SHOAL_TOKEN="});
    auto st = p.wait_for(10s);
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->ok()) << st->describe() << ": " << p.err();
    EXPECT_EQ(last().body, "from\nstdin");
  }
}

TEST_F(FakeAgentTest, KvDeleteAndItsFlags) {
  answer_json(true);
  auto r = shoal({"kv", "delete", "app/x", "--cas", "7"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().method + " " + last().target, "DELETE /v1/kv/app/x?cas=7");
  EXPECT_EQ(r.out, "Success! Deleted key: app/x\n");

  r = shoal({"kv", "delete", "app/", "--recurse"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().method + " " + last().target, "DELETE /v1/kv/app/?recurse");
  EXPECT_EQ(r.out, "Success! Deleted keys under: app/\n");

  answer(HttpResponse::error(404, "no such key", "key"));
  r = shoal({"kv", "delete", "gone"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: key \"gone\" not found\n");
}

TEST_F(FakeAgentTest, KvListIsATableAndNothingForAnEmptyPrefix) {
  answer_json(json::array(
      {{{"key", "app/a"}, {"value", "aGkKAP8="}, {"create_index", 3}, {"modify_index", 9}},
       {{"key", "app/b"}, {"value", ""}, {"create_index", 10}, {"modify_index", 10}}}));
  auto r = shoal({"kv", "list", "app/"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().target, "/v1/kv/app/?recurse");
  EXPECT_EQ(r.out,
            "KEY    CREATE  MODIFY  SIZE\n"
            "app/a  3       9       5\n"
            "app/b  10      10      0\n");

  answer(HttpResponse::error(404, "no such key", "key"));
  r = shoal({"kv", "list", "nothing/"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  r = shoal({"kv", "list", "nothing/", "--json"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "[]\n");

  // The root is listed at /v1/kv (no empty path segment); a 404 from the
  // router, not the store, is an error (the fake serves no /v1/kv route).
  r = shoal({"kv", "list"});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_EQ(r.err, "shoal: no such endpoint: /v1/kv\n");
}

TEST_F(FakeAgentTest, RaftPeersIsATableWithRoles) {
  answer_json({{"leader", kId2},
               {"voters",
                {{{"id", kId1}, {"name", "node-1"}, {"address", "10.0.0.1:7781"}, {"zone", "a"}},
                 {{"id", kId2}, {"name", "node-2"}, {"address", "10.0.0.2:7781"}, {"zone", "b"}}}},
               {"learners",
                {{{"id", "aa" + kId1.substr(2)},
                  {"name", "node-3"},
                  {"address", "10.0.0.3:7781"},
                  {"zone", ""}}}},
               {"observers", json::array()}});
  auto r = shoal({"raft", "peers"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().target, "/v1/raft/peers");
  EXPECT_EQ(r.out,
            "NAME    ID        ADDRESS        ROLE     ZONE\n"
            "node-1  01234567  10.0.0.1:7781  voter    a\n"
            "node-2  fedcba98  10.0.0.2:7781  leader   b\n"
            "node-3  aa234567  10.0.0.3:7781  learner\n");
}

TEST_F(FakeAgentTest, RaftTransferLeaderNamesTheTargetAndTheNewLeader) {
  answer_json({{"leader", kId2}, {"leader_name", "node-2"}});
  auto r = shoal({"raft", "transfer-leader", "node-2"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(last().method + " " + last().target, "POST /v1/raft/transfer-leader");
  EXPECT_EQ(json::parse(last().body, nullptr, false), json({{"to", "node-2"}}));
  EXPECT_EQ(r.out, "leadership transferred to node-2\n");

  r = shoal({"raft", "transfer-leader"});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(json::parse(last().body, nullptr, false), json::object());
}

TEST_F(FakeAgentTest, SnapshotSaveWritesTheWholeBodyAndRestoreSendsIt) {
  // Larger than Beast's default response limit (8 MiB).
  std::string snapshot(9 << 20, '\0');
  for (size_t i = 0; i < snapshot.size(); ++i) snapshot[i] = static_cast<char>(i * 7 + i / 251);
  HttpResponse res;
  res.content_type = "application/octet-stream";
  res.body = snapshot;
  res.headers.emplace_back("X-Shoal-Index", "77");
  answer(res);
  TempDir dir;
  const auto file = dir.path() / "state.snap";
  auto r = shoal({"snapshot", "save", file.string()});
  EXPECT_EXIT_CODE(r, 0);
  EXPECT_EQ(r.out, "saved " + std::to_string(snapshot.size()) + " bytes to " + file.string() +
                       " (index 77)\n");
  EXPECT_TRUE(read_file(file) == snapshot) << "the saved file differs";
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"state.snap"});

  // The fake's request limit is 1 MiB: restore a smaller one.
  const std::string small = snapshot.substr(0, 100'000);
  std::ofstream(dir.path() / "small.snap", std::ios::binary) << small;
  answer_json({{"restored", true}, {"index", 78}});
  r = shoal({"snapshot", "restore", (dir.path() / "small.snap").string()});
  EXPECT_EXIT_CODE(r, 0);
  auto req = last();
  EXPECT_EQ(req.method + " " + req.target, "PUT /v1/snapshot");
  EXPECT_EQ(req.content_type, "application/octet-stream");
  EXPECT_TRUE(req.body == small) << "the restored body differs";
  EXPECT_NE(r.out.find("78"), std::string::npos) << r.out;

  r = shoal({"snapshot", "restore", (dir.path() / "missing.snap").string()});
  EXPECT_EXIT_CODE(r, 1);
  EXPECT_NE(r.err.find("missing.snap"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace shoal::testing
