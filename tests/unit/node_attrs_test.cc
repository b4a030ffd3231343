#include "node/host/node_attrs.h"

#include <gtest/gtest.h>

#include "node/host/host_facts.h"

namespace shoal::node {
namespace {

TEST(NodeAttrsTest, ParsesKeyValue) {
  auto kv = parse_attr("zone=eu-1");
  ASSERT_TRUE(kv.is_ok());
  EXPECT_EQ(kv->first, "zone");
  EXPECT_EQ(kv->second, "eu-1");
  auto empty = parse_attr("storage=");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->second, "");
  auto eq = parse_attr("cmd=a=b");
  ASSERT_TRUE(eq.is_ok());
  EXPECT_EQ(eq->second, "a=b");
  EXPECT_TRUE(parse_attr("kernel.version_x-1=5.10 custom").is_ok());
}

TEST(NodeAttrsTest, RejectsBadKeysAndValues) {
  for (const char* text : {"zone", "=eu", "bad key=1", "k/v=1", "tab=\t", "nl=a\nb"}) {
    EXPECT_FALSE(parse_attr(text).is_ok()) << text;
  }
  EXPECT_FALSE(parse_attr(std::string(65, 'k') + "=v").is_ok());
  EXPECT_TRUE(parse_attr(std::string(64, 'k') + "=v").is_ok());
  EXPECT_FALSE(parse_attr("k=" + std::string(257, 'v')).is_ok());
  EXPECT_TRUE(parse_attr("k=" + std::string(256, 'v')).is_ok());
}

TEST(NodeAttrsTest, ParsesResources) {
  auto both = parse_resources("cpu=4000,memory=8192");
  ASSERT_TRUE(both.is_ok());
  EXPECT_EQ(both->cpu_mhz, 4000u);
  EXPECT_EQ(both->memory_mb, 8192u);
  auto mem = parse_resources("memory=512");
  ASSERT_TRUE(mem.is_ok());
  EXPECT_FALSE(mem->cpu_mhz.has_value());
  EXPECT_EQ(mem->memory_mb, 512u);
  for (const char* text : {"", "cpu", "cpu=", "cpu=0", "cpu=-1", "cpu=1.5", "gpu=1", "cpu=1,cpu=2",
                           "cpu=1,", ",cpu=1", "cpu=99999999999"}) {
    EXPECT_FALSE(parse_resources(text).is_ok()) << text;
  }
}

TEST(HostFactsTest, ParsesProcFiles) {
  EXPECT_EQ(parse_meminfo_total_kb("MemTotal:       24683904 kB\nMemFree: 1 kB\n"), 24683904u);
  EXPECT_EQ(parse_meminfo_total_kb("MemFree: 1 kB\nMemTotal: 2048 kB"), 2048u);
  EXPECT_FALSE(parse_meminfo_total_kb("MemFree: 1 kB\n").has_value());
  EXPECT_FALSE(parse_meminfo_total_kb("MemTotal: lots\n").has_value());
  EXPECT_FALSE(parse_meminfo_total_kb("MemTotalX: 5 kB\n").has_value());

  const char* cpuinfo =
      "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2445.406\ncache size\t: 512 KB\n";
  ASSERT_TRUE(parse_cpuinfo_mhz(cpuinfo).has_value());
  EXPECT_DOUBLE_EQ(*parse_cpuinfo_mhz(cpuinfo), 2445.406);
  EXPECT_FALSE(parse_cpuinfo_mhz("processor : 0\nBogoMIPS : 50.00\n").has_value());
}

TEST(HostFactsTest, DetectsTheAutomaticAttributes) {
  const HostFacts facts = detect_host_facts();
  for (const char* k : {"os", "arch", "kernel.version", "cpu.cores", "memory.mb", "hostname"}) {
    ASSERT_TRUE(facts.attrs.contains(k)) << k;
    EXPECT_TRUE(is_valid_attr_value(facts.attrs.at(k))) << k;
  }
  EXPECT_EQ(facts.attrs.at("os"), "linux");
  EXPECT_GT(facts.cpu_mhz, 0u);
  EXPECT_GT(facts.memory_mb, 0u);
  EXPECT_EQ(std::to_string(facts.memory_mb), facts.attrs.at("memory.mb"));
}

}  // namespace
}  // namespace shoal::node
