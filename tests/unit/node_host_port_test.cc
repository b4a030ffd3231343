#include <gtest/gtest.h>

#include "node/net/host_port.h"

namespace shoal::node {
namespace {

TEST(HostPortTest, ParsesAddressesWithAndWithoutPorts) {
  struct Case {
    const char* text;
    HostPort want;
  };
  const Case cases[] = {
      {"10.0.0.5", {"10.0.0.5", 7782}},
      {"10.0.0.5:9000", {"10.0.0.5", 9000}},
      {"seed.example", {"seed.example", 7782}},
      {"seed-1.example:1", {"seed-1.example", 1}},
      {"::1", {"::1", 7782}},
      {"fe80::1:2", {"fe80::1:2", 7782}},
      {"[::1]", {"::1", 7782}},
      {"[::1]:65535", {"::1", 65535}},
  };
  for (const auto& c : cases) {
    auto got = parse_host_port(c.text, 7782);
    ASSERT_TRUE(got.is_ok()) << c.text << ": " << got.status().to_string();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(HostPortTest, RejectsMalformedInput) {
  for (const char* text :
       {"", ":7782", "10.0.0.5:", "10.0.0.5:0", "10.0.0.5:65536", "10.0.0.5:http", "[::1", "[::1]x",
        "[::1]:", "a b", "host/path", "[]:7782"}) {
    auto got = parse_host_port(text, 7782);
    EXPECT_FALSE(got.is_ok()) << text;
    if (!got.is_ok()) {
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(got.status().message().find(std::string("\"") + text + "\""), std::string::npos)
          << got.status().message();
    }
  }
}

TEST(HostPortTest, ResolveKeepsIpLiteralsAndResolvesLocalhost) {
  EXPECT_EQ(*resolve_ip("127.0.3.9"), "127.0.3.9");
  EXPECT_EQ(*resolve_ip("::1"), "::1");
  auto local = resolve_ip("localhost");
  ASSERT_TRUE(local.is_ok()) << local.status().to_string();
  EXPECT_TRUE(*local == "127.0.0.1" || *local == "::1") << *local;
  EXPECT_FALSE(resolve_ip("no-such-host.invalid").is_ok());
}

}  // namespace
}  // namespace shoal::node
