// `shoal agent` as a real process: the dev mode, the HTTP API basics, clean
// shutdown on SIGTERM/SIGINT, the node identity and boot epoch in the data
// dir, and clear startup errors. Addresses: 127.0.2.N (one per test), plus
// 127.0.0.1 for the test of the --dev default; ports 278NN.
#include "node/agent.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "node/config/agent_config.h"
#include "tests/integration/harness.h"

namespace shoal::testing {
namespace {

class AgentTest : public ::testing::Test {
 protected:
  // Starts `shoal agent args...` with TMPDIR pointing at a directory of the
  // test's own, so that the --dev data dir can be found and checked.
  std::unique_ptr<Process> start_agent(const std::vector<std::string>& args) {
    std::vector<std::string> argv{shoal_binary(), "agent"};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<Process>(argv, logs_.path(), env());
  }

  [[nodiscard]] std::vector<std::string> env() const { return {"TMPDIR=" + agent_tmp().string()}; }

  [[nodiscard]] std::filesystem::path agent_tmp() const { return root_.path() / "tmp"; }

  // Polls health until it answers 200; fails the test (with the agent's
  // stderr) if the agent exits or does not get there in time.
  void wait_healthy(Process& agent, const std::string& host, uint16_t port) {
    const bool healthy = eventually(
        [&] {
          if (!agent.running()) return true;
          auto r = http_get(host, port, "/v1/agent/health", 1s);
          return r && r->status == 200;
        },
        15s);
    ASSERT_TRUE(agent.running()) << "agent exited early:\n" << agent.err();
    ASSERT_TRUE(healthy) << "agent never became healthy:\n" << agent.err();
  }

  // SIGTERMs a running agent and expects a clean, prompt exit.
  void stop_agent(Process& agent, int sig = SIGTERM) {
    agent.send_signal(sig);
    auto status = agent.wait_for(5s);
    ASSERT_TRUE(status.has_value()) << "agent ignored the signal:\n" << agent.err();
    EXPECT_EQ(status->describe(), "exit code 0") << agent.err();
  }

  nlohmann::json get_json(const std::string& host, uint16_t port, const std::string& path) {
    auto r = http_get(host, port, path);
    if (!r) {
      ADD_FAILURE() << "GET " << path << " failed";
      return {};
    }
    EXPECT_EQ(r->status, 200u) << r->body;
    EXPECT_EQ(r->header("content-type"), "application/json");
    return nlohmann::json::parse(r->body, nullptr, false);
  }

  void SetUp() override { std::filesystem::create_directory(agent_tmp()); }

  TempDir root_;
  TempDir logs_;
};

TEST_F(AgentTest, DevAgentServesHealthSelfAndJson404) {
  auto agent = start_agent({"--dev", "--bind", "127.0.2.1", "--http-port", "27801"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, "127.0.2.1", 27801));

  auto health = http_get("127.0.2.1", 27801, "/v1/agent/health");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200u);
  EXPECT_EQ(health->header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(health->body), nlohmann::json({{"status", "ok"}}));

  auto self = get_json("127.0.2.1", 27801, "/v1/agent/self");
  EXPECT_FALSE(self.value("name", "").empty()) << self;
  const std::string id = self.value("id", "");
  EXPECT_EQ(id.size(), 32u) << self;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << self;
  EXPECT_EQ(self["addresses"]["bind"], "127.0.2.1") << self;
  EXPECT_EQ(self["addresses"]["http"], "127.0.2.1:27801") << self;
  EXPECT_EQ(self["version"], SHOAL_VERSION) << self;

  // The id is the one stored in the temporary data dir.
  auto dirs = list_dir(agent_tmp());
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_TRUE(dirs[0].starts_with("shoal-dev-")) << dirs[0];
  EXPECT_EQ(read_file(agent_tmp() / dirs[0] / "node-id"), id + "\n");

  auto missing = http_get("127.0.2.1", 27801, "/v1/nope");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404u);
  EXPECT_EQ(missing->header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(missing->body),
            nlohmann::json({{"error", "no such endpoint: /v1/nope"}}));

  auto wrong_method =
      http_request("127.0.2.1", 27801, boost::beast::http::verb::post, "/v1/agent/health");
  ASSERT_TRUE(wrong_method.has_value());
  EXPECT_EQ(wrong_method->status, 405u);
  EXPECT_EQ(wrong_method->header("allow"), "GET");

  EXPECT_NE(agent->err().find("DEV MODE"), std::string::npos) << agent->err();
  stop_agent(*agent);
}

struct SignalCase {
  int sig;
  const char* address;
  uint16_t port;
};

class AgentSignalTest : public AgentTest, public ::testing::WithParamInterface<SignalCase> {};

TEST_P(AgentSignalTest, ExitsZeroPromptlyAndRemovesTheDevDataDir) {
  const SignalCase c = GetParam();
  auto agent = start_agent({"--dev", "--bind", c.address, "--http-port", std::to_string(c.port)});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, c.address, c.port));
  ASSERT_EQ(list_dir(agent_tmp()).size(), 1u) << "no dev data dir under $TMPDIR";

  // Hold an idle keep-alive connection open: it must not delay the shutdown.
  HttpConnection idle;
  ASSERT_TRUE(idle.connect(c.address, c.port));
  ASSERT_TRUE(idle.request(boost::beast::http::verb::get, "/v1/agent/health").has_value());

  const auto start = std::chrono::steady_clock::now();
  stop_agent(*agent, c.sig);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(idle.closed_by_peer(1s));
  EXPECT_EQ(list_dir(agent_tmp()), std::vector<std::string>{}) << "dev data dir left behind";
  EXPECT_FALSE(http_get(c.address, c.port, "/v1/agent/health", 1s).has_value())
      << "still listening after exit";
}

INSTANTIATE_TEST_SUITE_P(Agent, AgentSignalTest,
                         ::testing::Values(SignalCase{SIGTERM, "127.0.2.2", 27802},
                                           SignalCase{SIGINT, "127.0.2.3", 27803}),
                         [](const ::testing::TestParamInfo<SignalCase>& info) {
                           return info.param.sig == SIGTERM ? "Sigterm" : "Sigint";
                         });

TEST_F(AgentTest, NodeIdSurvivesRestartsAndTheBootEpochRises) {
  // A data dir whose parents do not exist yet.
  const auto data_dir = root_.path() / "nested" / "data";
  const std::vector<std::string> args = {"--name",     "node-a",          "--bind",
                                         "127.0.2.4",  "--http-port",     "27804",
                                         "--data-dir", data_dir.string(), "--insecure"};
  std::string first_id;
  for (int run = 1; run <= 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    auto agent = start_agent(args);
    ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, "127.0.2.4", 27804));
    auto self = get_json("127.0.2.4", 27804, "/v1/agent/self");
    EXPECT_EQ(self["name"], "node-a");
    const std::string id = self.value("id", "");
    if (run == 1) first_id = id;
    EXPECT_EQ(id, first_id);
    EXPECT_EQ(read_file(data_dir / "node-id"), first_id + "\n");
    EXPECT_EQ(read_file(data_dir / "boot-epoch"), std::to_string(run) + "\n");
    stop_agent(*agent);
  }
  struct stat st {};
  ASSERT_EQ(::stat(data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "data dir must be private to its owner";
  EXPECT_EQ(list_dir(agent_tmp()), std::vector<std::string>{}) << "no temp dir without --dev";
}

class CorruptNodeIdTest : public AgentTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CorruptNodeIdTest, IsAClearStartupErrorAndTheFileIsKept) {
  const auto data_dir = root_.path() / "data";
  std::filesystem::create_directory(data_dir);
  { std::ofstream(data_dir / "node-id", std::ios::binary) << GetParam(); }
  auto agent = start_agent({"--bind", "127.0.2.5", "--http-port", "27805", "--data-dir",
                            data_dir.string(), "--insecure"});
  auto status = agent->wait_for(10s);
  ASSERT_TRUE(status.has_value()) << "agent started on a corrupt node id:\n" << agent->err();
  EXPECT_EQ(status->describe(), "exit code 1") << agent->err();
  auto err_lines = lines(agent->err());
  ASSERT_FALSE(err_lines.empty());
  const std::string& last = err_lines.back();
  EXPECT_TRUE(last.starts_with("shoal: ")) << last;
  EXPECT_NE(last.find((data_dir / "node-id").string() + " is corrupt"), std::string::npos) << last;
  EXPECT_EQ(read_file(data_dir / "node-id"), GetParam()) << "a corrupt id was replaced";
}

INSTANTIATE_TEST_SUITE_P(Agent, CorruptNodeIdTest,
                         ::testing::Values("not-a-node-id\n", "", "0123456789abcdef\n",
                                           "00000000000000000000000000000000\n",
                                           "0123456789abcdef0123456789abcdeg\n"));

TEST_F(AgentTest, CorruptBootEpochIsAClearStartupError) {
  const auto data_dir = root_.path() / "data";
  std::filesystem::create_directory(data_dir);
  std::ofstream(data_dir / "boot-epoch") << "seven\n";
  auto agent = start_agent({"--bind", "127.0.2.6", "--http-port", "27806", "--data-dir",
                            data_dir.string(), "--insecure"});
  auto status = agent->wait_for(10s);
  ASSERT_TRUE(status.has_value()) << agent->err();
  EXPECT_EQ(status->describe(), "exit code 1");
  EXPECT_NE(agent->err().find("boot-epoch is corrupt"), std::string::npos) << agent->err();
}

TEST_F(AgentTest, ASecondAgentOnTheSameDataDirIsRefused) {
  const auto data_dir = root_.path() / "data";
  auto first = start_agent({"--bind", "127.0.2.7", "--http-port", "27807", "--data-dir",
                            data_dir.string(), "--insecure"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*first, "127.0.2.7", 27807));
  auto second = start_agent({"--bind", "127.0.2.8", "--http-port", "27808", "--data-dir",
                             data_dir.string(), "--insecure"});
  auto status = second->wait_for(10s);
  ASSERT_TRUE(status.has_value()) << "two agents share a data dir";
  EXPECT_EQ(status->describe(), "exit code 1");
  EXPECT_NE(second->err().find("in use by another agent (pid " + std::to_string(first->pid())),
            std::string::npos)
      << second->err();
  EXPECT_EQ(read_file(data_dir / "boot-epoch"), "1\n") << "the refused agent touched the epoch";
  EXPECT_TRUE(first->running());
  stop_agent(*first);
}

TEST_F(AgentTest, AnHttpPortInUseIsAClearErrorAndCleansUp) {
  auto first = start_agent({"--dev", "--bind", "127.0.2.9", "--http-port", "27809"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*first, "127.0.2.9", 27809));
  TempDir second_tmp;
  std::vector<std::string> argv{shoal_binary(), "agent",       "--dev", "--bind",
                                "127.0.2.9",    "--http-port", "27809", "--gossip-port",
                                "27819",        "--rpc-port",  "27829"};
  Process second(argv, logs_.path(), {"TMPDIR=" + second_tmp.path().string()});
  auto status = second.wait_for(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "exit code 1");
  auto err_lines = lines(second.err());
  ASSERT_FALSE(err_lines.empty());
  EXPECT_EQ(err_lines.back(), "shoal: cannot listen on 127.0.2.9:27809: Address already in use");
  EXPECT_EQ(list_dir(second_tmp.path()), std::vector<std::string>{})
      << "failed start left its dev data dir";
  stop_agent(*first);
}

TEST_F(AgentTest, DevDefaultsToLoopback) {
  auto agent = start_agent({"--dev", "--http-port", "27810", "--gossip-port", "27820"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, "127.0.0.1", 27810));
  auto self = get_json("127.0.0.1", 27810, "/v1/agent/self");
  EXPECT_EQ(self["addresses"]["bind"], "127.0.0.1");
  EXPECT_EQ(self["addresses"]["http"], "127.0.0.1:27810");
  stop_agent(*agent);
}

TEST_F(AgentTest, ExplicitHttpBindWinsOverBind) {
  auto agent = start_agent(
      {"--dev", "--bind", "127.0.2.11", "--http-bind", "127.0.2.12", "--http-port", "27812"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, "127.0.2.12", 27812));
  EXPECT_FALSE(http_get("127.0.2.11", 27812, "/v1/agent/health", 1s).has_value());
  auto self = get_json("127.0.2.12", 27812, "/v1/agent/self");
  EXPECT_EQ(self["addresses"]["bind"], "127.0.2.11");
  EXPECT_EQ(self["addresses"]["http"], "127.0.2.12:27812");
  stop_agent(*agent);
}

TEST_F(AgentTest, LogJsonWritesOneJsonObjectPerLine) {
  auto agent = start_agent({"--dev", "--bind", "127.0.2.13", "--http-port", "27813", "--log-json"});
  ASSERT_NO_FATAL_FAILURE(wait_healthy(*agent, "127.0.2.13", 27813));
  stop_agent(*agent);
  auto err_lines = lines(agent->err());
  ASSERT_GE(err_lines.size(), 3u) << agent->err();
  for (const auto& line : err_lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("ts")) << line;
  }
}

// In process: Agent::stop() from another thread ends run() cleanly.
TEST_F(AgentTest, InProcessStopEndsRun) {
  node::AgentConfig config;
  config.dev = true;
  config.bind = "127.0.2.14";
  config.http_port = 27814;
  config.data_dir = (root_.path() / "inproc").string();
  config.mark_explicit("bind");
  config.mark_explicit("http-port");
  config.mark_explicit("data-dir");
  auto finalized = node::finalize(config);
  ASSERT_TRUE(finalized.is_ok()) << finalized.status().to_string();
  node::Agent agent(std::move(finalized).value());
  Status result = Status::internal("run() did not return");
  std::thread runner([&] { result = agent.run(); });
  const bool healthy = eventually(
      [] {
        auto r = http_get("127.0.2.14", 27814, "/v1/agent/health", 1s);
        return r && r->status == 200;
      },
      15s);
  agent.stop();
  runner.join();
  EXPECT_TRUE(healthy);
  EXPECT_TRUE(result.is_ok()) << result.to_string();
  // An explicit --data-dir with --dev is kept.
  EXPECT_TRUE(std::filesystem::exists(root_.path() / "inproc" / "node-id"));
}

}  // namespace
}  // namespace shoal::testing
