// Gossip membership with real agents on loopback (127.0.3.N, ports 281NN):
// a ten-agent cluster forms and detects a kill -9, forged, replayed and
// wrong-key traffic is dropped and counted, an agent with another key cannot
// join, a graceful leave shows "left", the keyring rotates cluster-wide and
// survives a restart, and the remembered member list brings a restarted
// agent back without --join. Tests use --gossip-profile local for speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using nlohmann::json;
namespace asio = boost::asio;

class GossipTest : public ::testing::Test {
 protected:
  // n agents named a1..an on 127.0.3.<first+i>; all but the first join the first.
  void start_cluster(size_t n, int first_octet, uint16_t http_port, const std::string& key,
                     const std::vector<std::string>& extra = {}) {
    for (size_t i = 0; i < n; ++i) {
      agents_.push_back(std::make_unique<TestAgent>(
          "a" + std::to_string(i + 1), "127.0.3." + std::to_string(first_octet + i), http_port,
          static_cast<uint16_t>(http_port + 1), root_.path()));
    }
    for (size_t i = 0; i < n; ++i) {
      std::vector<std::string> args = {"--encrypt", key, "--gossip-profile", "local"};
      if (i > 0) args.insert(args.end(), {"--join", agents_[0]->gossip_addr()});
      args.insert(args.end(), extra.begin(), extra.end());
      agents_[i]->start(args);
    }
    for (auto& a : agents_) {
      std::string why;
      ASSERT_TRUE(a->wait_healthy(&why)) << why;
    }
  }

  // Every running agent sees exactly `alive` alive members.
  bool all_see_alive(size_t alive, const std::vector<size_t>& skip = {}) {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if (std::find(skip.begin(), skip.end(), i) != skip.end()) continue;
      if (agents_[i]->count_status("alive") != alive) return false;
    }
    return true;
  }

  std::string views() {
    std::string out;
    for (auto& a : agents_) out += a->name() + ": " + a->members().dump() + "\n";
    return out;
  }

  TempDir root_;
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

TEST_F(GossipTest, TenAgentsFormOneClusterAndAllDetectAKill) {
  ASSERT_NO_FATAL_FAILURE(start_cluster(10, 1, 28100, new_key()));
  ASSERT_TRUE(eventually([&] { return all_see_alive(10); }, 20s, 100ms)) << views();

  // Every agent lists the same ten ids.
  std::set<std::string> ids;
  for (const auto& m : agents_[3]->members()) ids.insert(m.value("id", ""));
  EXPECT_EQ(ids.size(), 10u);
  for (const auto& m : agents_[0]->members()) {
    EXPECT_TRUE(m["attrs"].contains("os")) << m;
    EXPECT_EQ(m["ports"]["http"], 28100) << m;
  }

  agents_[9]->kill9();
  const auto killed = std::chrono::steady_clock::now();
  const bool all_dead = eventually(
      [&] {
        for (size_t i = 0; i < 9; ++i) {
          if (agents_[i]->status_of("a10") != "dead") return false;
        }
        return true;
      },
      20s, 100ms);
  ASSERT_TRUE(all_dead) << views();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::cout << "every survivor saw the kill -9 as dead after " << seconds << " s\n";
  // Nobody else was taken for dead.
  EXPECT_TRUE(all_see_alive(9, {9})) << views();
}

// Seals a plaintext as a sender of our own making would.
std::vector<uint8_t> seal(const std::string& key, const std::string& label, NodeId sender,
                          uint64_t epoch, const std::vector<uint8_t>& plaintext,
                          crypto::PacketSealer* sealer = nullptr) {
  auto k = crypto::ClusterKey::from_base64(key);
  crypto::Keyring ring(*k);
  if (sealer != nullptr) return sealer->seal(ring, plaintext);
  crypto::PacketSealer s(label, sender, epoch);
  return s.seal(ring, plaintext);
}

TEST_F(GossipTest, ForgedReplayedAndWrongKeyTrafficIsDroppedAndCounted) {
  const std::string key = new_key();
  ASSERT_NO_FATAL_FAILURE(start_cluster(2, 21, 28110, key));
  ASSERT_TRUE(eventually([&] { return all_see_alive(2); }, 15s, 100ms)) << views();
  TestAgent& target = *agents_[0];
  const std::string m0 = target.metrics();
  auto base = [&](const char* reason) {
    return metric_value(
               m0, std::string("shoal_gossip_packets_rejected_total{reason=\"") + reason + "\"}")
        .value_or(-1);
  };
  const double auth0 = base("auth");
  const double replay0 = base("replay");
  const double decode0 = base("decode");
  ASSERT_GE(auth0, 0) << m0;

  asio::io_context io;
  asio::ip::udp::socket udp(io);
  udp.open(asio::ip::udp::v4());
  const asio::ip::udp::endpoint to(asio::ip::make_address(target.ip()), target.gossip_port());
  auto send = [&](const std::vector<uint8_t>& bytes) { udp.send_to(asio::buffer(bytes), to); };

  crypto::init();
  const NodeId intruder = crypto::generate_node_id();
  const std::vector<uint8_t> junk = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02};

  send(junk);                                             // decode: too short
  send(seal(new_key(), "", intruder, 1, junk));           // auth: unknown key
  send(seal(key, "another-cluster", intruder, 1, junk));  // auth: wrong label
  crypto::PacketSealer sealer("", intruder, 7);
  auto valid = seal(key, "", intruder, 7, junk, &sealer);  // opens; the core cannot decode it
  send(valid);                                             // decode
  send(valid);                                             // replay: same counter
  auto tampered = seal(key, "", intruder, 7, junk, &sealer);
  tampered.back() ^= 0x01;
  send(tampered);                          // auth: tampered
  send(seal(key, "", intruder, 6, junk));  // replay: older boot epoch

  // TCP: a frame under the wrong key, and a frame header beyond the bound.
  auto stream = [&](const std::vector<uint8_t>& bytes) {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address(target.ip()), target.gossip_port()});
    asio::write(s, asio::buffer(bytes));
    // The agent closes the stream without answering.
    std::array<uint8_t, 16> buf{};
    boost::system::error_code ec;
    const size_t n = s.read_some(asio::buffer(buf), ec);
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  };
  auto wrong = seal(new_key(), "", intruder, 1, junk);
  std::vector<uint8_t> frame = {0, 0, 0, static_cast<uint8_t>(wrong.size())};
  frame.insert(frame.end(), wrong.begin(), wrong.end());
  stream(frame);                              // auth
  stream({0xff, 0xff, 0xff, 0xff, 1, 2, 3});  // decode: frame too large

  std::string m1;
  const bool counted = eventually(
      [&] {
        m1 = target.metrics();
        auto v = [&](const char* reason) {
          return metric_value(m1, std::string("shoal_gossip_packets_rejected_total{reason=\"") +
                                      reason + "\"}")
              .value_or(-1);
        };
        return v("auth") == auth0 + 4 && v("replay") == replay0 + 2 && v("decode") == decode0 + 3;
      },
      5s, 50ms);
  EXPECT_TRUE(counted) << m1;

  // Nothing changed: the same two members, both alive, no intruder.
  const auto members = target.members();
  ASSERT_EQ(members.size(), 2u) << members;
  for (const auto& m : members) {
    EXPECT_EQ(m["status"], "alive") << m;
    EXPECT_NE(m["id"], intruder.to_string());
  }
  EXPECT_EQ(metric_value(m1, "shoal_gossip_members{status=\"alive\"}"), 2.0) << m1;
}

TEST_F(GossipTest, AnAgentWithAnotherKeyCannotJoin) {
  agents_.push_back(std::make_unique<TestAgent>("a1", "127.0.3.31", 28120, 28121, root_.path()));
  agents_.push_back(std::make_unique<TestAgent>("a2", "127.0.3.32", 28120, 28121, root_.path()));
  agents_[0]->start({"--encrypt", new_key(), "--gossip-profile", "local"});
  agents_[1]->start(
      {"--encrypt", new_key(), "--gossip-profile", "local", "--join", agents_[0]->gossip_addr()});
  for (auto& a : agents_) {
    std::string why;
    ASSERT_TRUE(a->wait_healthy(&why)) << why;
  }
  // a1 drops a2's join frames as unauthenticated.
  std::string metrics;
  ASSERT_TRUE(eventually(
      [&] {
        metrics = agents_[0]->metrics();
        return metric_value(metrics, "shoal_gossip_packets_rejected_total{reason=\"auth\"}")
                   .value_or(0) >= 1;
      },
      10s, 50ms))
      << metrics;
  auto joined = http_post("127.0.3.32", 28120, "/v1/agent/join",
                          json({{"addrs", {agents_[0]->gossip_addr()}}}).dump(), 25s);
  ASSERT_TRUE(joined.has_value());
  EXPECT_EQ(joined->status, 503u) << joined->body;
  EXPECT_NE(joined->body.find("closed the stream without a reply"), std::string::npos)
      << joined->body;
  // Neither knows the other.
  EXPECT_EQ(agents_[0]->members().size(), 1u) << views();
  EXPECT_EQ(agents_[1]->members().size(), 1u) << views();
  EXPECT_NE(agents_[1]->err().find("join through " + agents_[0]->gossip_addr() + " failed"),
            std::string::npos)
      << agents_[1]->err();
}

TEST_F(GossipTest, GracefulLeaveShowsLeftNotDead) {
  ASSERT_NO_FATAL_FAILURE(start_cluster(3, 41, 28130, new_key()));
  ASSERT_TRUE(eventually([&] { return all_see_alive(3); }, 15s, 100ms)) << views();

  auto r = run_shoal({"leave"}, {agents_[2]->shoal_addr()}, 15s);
  EXPECT_EQ(r.status.describe(), "exit code 0") << r.err;
  EXPECT_EQ(r.out, "left the cluster; the agent is stopping\n");
  auto exited = agents_[2]->process().wait_for(5s);
  ASSERT_TRUE(exited.has_value()) << "the agent kept running after leave";
  EXPECT_EQ(exited->describe(), "exit code 0") << agents_[2]->err();

  ASSERT_TRUE(eventually(
      [&] {
        return agents_[0]->status_of("a3") == "left" && agents_[1]->status_of("a3") == "left";
      },
      5s, 50ms))
      << views();
  // It stays "left": longer than the local profile's suspicion timeout.
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(agents_[0]->status_of("a3"), "left") << views();
    ASSERT_EQ(agents_[1]->status_of("a3"), "left") << views();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(all_see_alive(2, {2})) << views();
}

TEST_F(GossipTest, KeyringRotatesClusterWideAndSurvivesARestart) {
  const std::string old_key = new_key();
  const std::string new_key_ = new_key();
  ASSERT_NO_FATAL_FAILURE(start_cluster(3, 51, 28140, old_key));
  ASSERT_TRUE(eventually([&] { return all_see_alive(3); }, 15s, 100ms)) << views();
  const std::vector<std::string> env = {agents_[0]->shoal_addr()};

  // The new key from a file; use and remove name keys by id only.
  const auto key_file = agents_[0]->data_dir().parent_path() / "new.key";
  std::ofstream(key_file) << new_key_ << "\n";
  auto install = run_shoal({"keyring", "install", "--key-file", key_file.string()}, env, 20s);
  ASSERT_EQ(install.status.describe(), "exit code 0") << install.err;
  EXPECT_NE(install.out.find("on 3 of 3 node(s)"), std::string::npos) << install.out;
  EXPECT_NE(install.out.find(key_id_of(new_key_)), std::string::npos) << install.out;
  auto use = run_shoal({"keyring", "use", key_id_of(new_key_)}, env, 20s);
  ASSERT_EQ(use.status.describe(), "exit code 0") << use.err;
  auto remove = run_shoal({"keyring", "remove", key_id_of(old_key)}, env, 20s);
  ASSERT_EQ(remove.status.describe(), "exit code 0") << remove.err;

  // Every agent now holds only the new key, as primary, on disk too.
  auto list = run_shoal({"keyring", "list", "--json"}, {agents_[1]->shoal_addr()}, 20s);
  ASSERT_EQ(list.status.describe(), "exit code 0") << list.err;
  auto body = json::parse(list.out);
  ASSERT_EQ(body["keys"].size(), 1u) << body;
  EXPECT_EQ(body["keys"][0]["id"], key_id_of(new_key_));
  EXPECT_EQ(list.out.find(new_key_), std::string::npos) << "never key material: " << list.out;
  EXPECT_EQ(body["keys"][0]["primary"], true);
  EXPECT_EQ(body["keys"][0]["nodes"], 3);
  EXPECT_EQ(body["keys"][0]["primary_nodes"], 3);
  for (auto& a : agents_) {
    auto ring = json::parse(read_file(a->data_dir() / "keyring"));
    EXPECT_EQ(ring["primary"], new_key_) << a->name();
    EXPECT_EQ(ring["keys"], json::array({new_key_})) << a->name();
  }
  // Members stay alive under the new key.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(all_see_alive(3)) << views();

  // A restart with the old --encrypt and no --join: the persisted keyring
  // and member list win, and the agent is back in the cluster.
  auto stopped = agents_[2]->stop();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->describe(), "exit code 0");
  agents_[2]->start({"--encrypt", old_key, "--gossip-profile", "local"});
  std::string why;
  ASSERT_TRUE(agents_[2]->wait_healthy(&why)) << why;
  ASSERT_TRUE(eventually([&] { return all_see_alive(3); }, 15s, 100ms)) << views();
  auto local = agents_[2]->get_json("/v1/keyring?local");
  ASSERT_EQ(local["keys"].size(), 1u) << local;
  EXPECT_EQ(local["keys"][0]["id"], key_id_of(new_key_));
  EXPECT_NE(agents_[2]->err().find("is not in the persisted keyring"), std::string::npos)
      << agents_[2]->err();
}

TEST_F(GossipTest, ARestartedAgentRejoinsFromItsRememberedMembers) {
  const std::string key = new_key();
  ASSERT_NO_FATAL_FAILURE(start_cluster(3, 61, 28150, key));
  ASSERT_TRUE(eventually([&] { return all_see_alive(3); }, 15s, 100ms)) << views();

  // a1 was the seed and never had --join; it only knows the others from gossip.
  auto stopped = agents_[0]->stop();
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(stopped->describe(), "exit code 0") << agents_[0]->err();
  EXPECT_TRUE(std::filesystem::exists(agents_[0]->data_dir() / "members"));
  ASSERT_TRUE(eventually(
      [&] {
        return agents_[1]->status_of("a1") == "dead" && agents_[2]->status_of("a1") == "dead";
      },
      15s, 100ms))
      << views();

  agents_[0]->start({"--encrypt", key, "--gossip-profile", "local"});
  std::string why;
  ASSERT_TRUE(agents_[0]->wait_healthy(&why)) << why;
  ASSERT_TRUE(eventually([&] { return all_see_alive(3); }, 15s, 100ms)) << views();
  EXPECT_NE(agents_[0]->err().find("rejoining through 2 remembered member(s)"), std::string::npos)
      << agents_[0]->err();
}

}  // namespace
}  // namespace shoal::testing
