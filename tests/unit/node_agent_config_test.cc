// finalize()'s gossip settings: defaults derived from other flags, and
// validation messages that name the flag.
#include <gtest/gtest.h>

#include "core/crypto.h"
#include "node/config/agent_config.h"

namespace shoal::node {
namespace {

AgentConfig base() {
  AgentConfig c;
  c.name = "n1";
  c.data_dir = "/tmp/shoal-config-test";
  c.insecure = true;
  return c;
}

TEST(AgentConfigGossipTest, AdvertiseDefaultsToASpecificBind) {
  AgentConfig c = base();
  c.bind = "127.0.3.7";
  auto f = finalize(c);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->advertise, "127.0.3.7");
  EXPECT_EQ(f->gossip_port, 7782);

  AgentConfig wild = base();
  auto w = finalize(wild);
  ASSERT_TRUE(w.is_ok());
  EXPECT_FALSE(w->advertise.empty());
  EXPECT_NE(w->advertise, "0.0.0.0");

  AgentConfig given = base();
  given.advertise = "10.1.2.3";
  EXPECT_EQ(finalize(given)->advertise, "10.1.2.3");
}

TEST(AgentConfigGossipTest, JoinAttrsAndResourcesAreParsed) {
  AgentConfig c = base();
  c.gossip_port = 9000;
  c.join = {"10.0.0.1", "10.0.0.2:7000", "[::1]"};
  c.attrs = {"zone=eu-1", "env=prod"};
  c.resources = "cpu=2000";
  auto f = finalize(c);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ(f->join_addrs.size(), 3u);
  EXPECT_EQ(f->join_addrs[0], (HostPort{"10.0.0.1", 9000})) << "the port defaults to ours";
  EXPECT_EQ(f->join_addrs[1], (HostPort{"10.0.0.2", 7000}));
  EXPECT_EQ(f->join_addrs[2], (HostPort{"::1", 9000}));
  EXPECT_EQ(f->attr_map.at("zone"), "eu-1");
  EXPECT_EQ(f->cpu_mhz, 2000u);
  EXPECT_FALSE(f->memory_mb.has_value());
}

TEST(AgentConfigGossipTest, DevImpliesInsecureUnlessAKeyIsGiven) {
  AgentConfig dev;
  dev.dev = true;
  dev.name = "d";
  EXPECT_TRUE(finalize(dev)->insecure);
  crypto::init();
  dev.encrypt = crypto::ClusterKey::generate().to_base64();
  EXPECT_FALSE(finalize(dev)->insecure);
}

TEST(AgentConfigGossipTest, ErrorsNameTheFlag) {
  struct Case {
    void (*set)(AgentConfig&);
    const char* flag;
  };
  const Case cases[] = {
      {[](AgentConfig& c) { c.gossip_port = 0; }, "--gossip-port"},
      {[](AgentConfig& c) { c.advertise = "0.0.0.0"; }, "--advertise"},
      {[](AgentConfig& c) { c.advertise = "nope"; }, "--advertise"},
      {[](AgentConfig& c) { c.join = {"1.2.3.4:0"}; }, "--join"},
      {[](AgentConfig& c) {
         c.attrs = {"a=1", "a=2"};
       },
       "--attr"},
      {[](AgentConfig& c) { c.attrs = {"novalue"}; }, "--attr"},
      {[](AgentConfig& c) { c.resources = "cpu=x"; }, "--resources"},
      {[](AgentConfig& c) { c.gossip_profile = "fast"; }, "--gossip-profile"},
      {[](AgentConfig& c) { c.cluster_label = std::string(65, 'x'); }, "--cluster-label"},
      {[](AgentConfig& c) { c.encrypt = "abc"; }, "--encrypt"},
      {[](AgentConfig& c) {
         c.insecure = false;
         c.encrypt = "a";
         c.keyring_file = "f";
       },
       "--keyring-file"},
  };
  for (const auto& c : cases) {
    AgentConfig config = base();
    c.set(config);
    auto f = finalize(config);
    ASSERT_FALSE(f.is_ok()) << c.flag;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.flag), std::string::npos) << f.status().message();
  }
}

}  // namespace
}  // namespace shoal::node
