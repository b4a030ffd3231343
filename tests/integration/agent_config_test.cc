// Secrets and configuration of a real agent (issue 11): the --config file,
// --encrypt-file, --api-token-file and the environment keep secrets off the
// command line; SIGHUP reloads what can change live (API token, log level)
// and names what needs a restart; a second SIGTERM during a hung shutdown
// exits at once. Addresses: 127.0.25.N; ports 282NN.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using nlohmann::json;

class AgentConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto path = root_.path() / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    return path.string();
  }

  TestAgent& add(const std::string& name, const std::string& ip, uint16_t port) {
    agents_.push_back(std::make_unique<TestAgent>(name, ip, port, port + 1, root_.path()));
    return *agents_.back();
  }

  TempDir root_;
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

// GET with "Authorization: Bearer <token>" (none when empty); the status, or 0.
unsigned get_status(const TestAgent& a, const std::string& path, const std::string& token) {
  HttpConnection c;
  if (!c.connect(a.ip(), a.http_port())) return 0;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "\r\n";
  if (!c.send_raw(req)) return 0;
  auto r = c.read_response();
  return r ? r->status : 0;
}

std::string cmdline_of(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

TEST_F(AgentConfigTest, AConfigFileAndSecretFilesKeepSecretsOffTheCommandLine) {
  const std::string key = new_key();
  const std::string key_file = write("cluster.key", key + "\n");
  const std::string token_file = write("token", "first-token\n");
  // The file's settings; SIGHUP later changes some of them.
  auto yaml = [&](int voters, const std::string& zone, const std::string& level) {
    return "bootstrap-expect: 1\nvoters: " + std::to_string(voters) +
           "\nencrypt-file: " + key_file + "\napi-token-file: " + token_file +
           "\nattr: [zone=" + zone + ", tier=edge]\nlog-level: " + level + "\n";
  };
  const std::string config = write("shoal.yaml", yaml(1, "z1", "info"));
  TestAgent& a = add("c1", "127.0.25.1", 28200);
  a.start({"--config", config});
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;

  const std::string cmdline = cmdline_of(a.process().pid());
  EXPECT_EQ(cmdline.find(key), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find("first-token"), std::string::npos) << cmdline;
  EXPECT_EQ(get_status(a, "/v1/agent/self", ""), 403u);
  EXPECT_EQ(get_status(a, "/v1/agent/self", "first-token"), 200u);
  EXPECT_EQ(get_status(a, "/v1/agent/health", ""), 200u);
  // The file's settings took effect, next to the flags the harness gave.
  ASSERT_TRUE(eventually([&] { return get_status(a, "/v1/kv/x", "first-token") == 404; }, 15s));
  EXPECT_EQ(a.err().find(key), std::string::npos) << "the key is never logged";
  EXPECT_EQ(a.err().find("first-token"), std::string::npos) << "the token is never logged";

  // SIGHUP: a new token and log level apply at once; a changed voter count
  // and attribute need a restart and say so. The agent keeps running.
  write("token", "second-token\n");
  write("shoal.yaml", yaml(3, "z2", "debug"));
  a.process().send_signal(SIGHUP);
  ASSERT_TRUE(
      eventually([&] { return get_status(a, "/v1/agent/self", "second-token") == 200; }, 5s))
      << a.err();
  EXPECT_EQ(get_status(a, "/v1/agent/self", "first-token"), 403u);
  ASSERT_TRUE(a.running()) << a.err();
  ASSERT_TRUE(eventually([&] { return a.err().find("restart needed") != std::string::npos; }, 5s))
      << a.err();
  const std::string log = a.err();
  EXPECT_NE(log.find("changed for attr, voters: restart needed"), std::string::npos) << log;
  EXPECT_NE(log.find("applied api-token, log-level"), std::string::npos) << log;
  EXPECT_EQ(log.find("second-token"), std::string::npos) << "the token is never logged";

  // A reload that fails changes nothing.
  write("shoal.yaml", "api-token: third-token\nfrobnicate: 1\n");
  a.process().send_signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return a.err().find("configuration reload failed") != std::string::npos; }, 5s))
      << a.err();
  EXPECT_NE(a.err().find("unknown key \"frobnicate\""), std::string::npos) << a.err();
  EXPECT_EQ(get_status(a, "/v1/agent/self", "second-token"), 200u);
  EXPECT_EQ(get_status(a, "/v1/agent/self", "third-token"), 403u);

  auto stopped = a.stop();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->describe(), "exit code 0") << a.err();
}

TEST_F(AgentConfigTest, TheEnvironmentCarriesTheKeyAndToken) {
  const std::string key = new_key();
  TestAgent& a = add("e1", "127.0.25.2", 28210);
  a.start({"--bootstrap-expect", "1", "--voters", "1"},
          {"SHOAL_ENCRYPT=" + key, "SHOAL_API_TOKEN=env-token"});
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;
  EXPECT_EQ(get_status(a, "/v1/agent/self", ""), 403u);
  EXPECT_EQ(get_status(a, "/v1/agent/self", "env-token"), 200u);
  // It runs with the key (encrypted gossip), and says nothing of --encrypt.
  HttpConnection c;
  ASSERT_TRUE(c.connect(a.ip(), a.http_port()));
  ASSERT_TRUE(c.send_raw(
      "GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer env-token\r\n\r\n"));
  auto self = c.read_response();
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(json::parse(self->body)["gossip"]["encrypted"], true) << self->body;
  EXPECT_EQ(a.err().find("SECURITY: --encrypt"), std::string::npos) << a.err();
}

TEST_F(AgentConfigTest, ASecretOnTheCommandLineIsWarnedAbout) {
  TestAgent& a = add("w1", "127.0.25.3", 28220);
  a.start({"--encrypt", new_key(), "--bootstrap-expect", "1", "--voters", "1"});
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;
  EXPECT_NE(a.err().find("--encrypt on the command line is visible"), std::string::npos) << a.err();
}

TEST_F(AgentConfigTest, BadConfigFilesAreOneClearLine) {
  const std::string typo = write("typo.yaml", "data_dir: /tmp/x\n");
  expect_usage_error(run_shoal({"agent", "--config", typo}), "unknown key \"data_dir\"");
  const std::string wrong_type = write("type.yaml", "http-port: [1, 2]\n");
  expect_usage_error(run_shoal({"agent", "--config", wrong_type}), "http-port");
  expect_usage_error(run_shoal({"agent", "--config", (root_.path() / "none.yaml").string()}),
                     "--config");
  expect_usage_error(
      run_shoal({"agent", "--dev", "--encrypt-file", (root_.path() / "nokey").string()}),
      "--encrypt-file");
  // Insecure mode never listens beyond loopback.
  expect_usage_error(run_shoal({"agent", "--insecure", "--bind", "0.0.0.0"}), "--insecure");
}

// A shutdown that hangs (here: a response to a client that never reads it,
// held for the HTTP server's shutdown grace) ends at once on a second SIGTERM.
TEST_F(AgentConfigTest, ASecondSigtermDuringAHungShutdownExitsAtOnce) {
  TestAgent& a = add("s1", "127.0.25.4", 28230);
  a.start({"--bootstrap-expect", "1", "--voters", "1", "--insecure"});
  std::string why;
  ASSERT_TRUE(a.wait_healthy(&why)) << why;
  // About 16 MB of values, so that the listing cannot fit in socket buffers.
  const std::string value(512 * 1024 - 64, 'v');
  auto put = [&](int i) {
    HttpConnection c;
    if (!c.connect(a.ip(), a.http_port())) return false;
    auto r = c.request(boost::beast::http::verb::put, "/v1/kv/big/" + std::to_string(i), value);
    return r.has_value() && r->status == 200;
  };
  ASSERT_TRUE(eventually([&] { return put(0); }, 15s)) << "no leader:\n" << a.err();
  for (int i = 1; i < 32; ++i) ASSERT_TRUE(put(i)) << i;
  // A client that asks for all of it and never reads.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket slow(io);
  slow.open(boost::asio::ip::tcp::v4());
  slow.set_option(boost::asio::socket_base::receive_buffer_size(4096));
  slow.connect({boost::asio::ip::make_address(a.ip()), a.http_port()});
  boost::asio::write(slow, boost::asio::buffer(std::string("GET /v1/kv/big?recurse HTTP/1.1\r\n"
                                                           "Host: x\r\n\r\n")));
  // Let the agent start writing before it is asked to stop.
  ASSERT_TRUE(eventually([&] { return slow.available() > 0; }, 5s));

  a.process().send_signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return a.err().find("shutting down") != std::string::npos; }, 5s))
      << a.err();
  const auto start = std::chrono::steady_clock::now();
  a.process().send_signal(SIGTERM);
  auto status = a.process().wait_for(1500ms);
  ASSERT_TRUE(status.has_value()) << "the second SIGTERM did not end the agent:\n" << a.err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_EQ(status->describe(), "exit code 143") << a.err();
  EXPECT_NE(a.err().find("second signal during shutdown"), std::string::npos) << a.err();
}

}  // namespace
}  // namespace shoal::testing
