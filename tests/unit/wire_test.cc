#include "core/wire.h"

#include <gtest/gtest.h>

#include "core/rng.h"

namespace shoal::wire {
namespace {

using Bytes = std::vector<uint8_t>;

// A test message: [name: str, count: uint32, id: bin16] plus optional
// trailing field 3 (flag: bool) added "in a later version".
struct Echo {
  std::string name;
  uint32_t count = 0;
  NodeId id;
  bool flag = false;
};

Bytes encode_echo(const Echo& e, bool with_flag, int extra_trailing = 0) {
  return encode_envelope(MsgType::kTestEcho, kProtocolVersion, [&](Packer& p) {
    p.pack_array(3 + (with_flag ? 1 : 0) + extra_trailing);
    p.pack(e.name);
    p.pack_uint32(e.count);
    pack_node_id(p, e.id);
    if (with_flag) p.pack(e.flag);
    for (int i = 0; i < extra_trailing; ++i) p.pack(std::string("future field"));
  });
}

Result<Echo> decode_echo(std::span<const uint8_t> bytes) {
  auto env = decode_envelope(bytes, DecodeLimits::packet());
  if (!env) return env.status();
  if (env->type() != MsgType::kTestEcho) return Status::decode("not an echo");
  auto r = FieldReader::open(env->body(), "test_echo");
  if (!r) return r.status();
  Echo e;
  SHOAL_RETURN_IF_ERROR(r->str(0, e.name, 64));
  SHOAL_RETURN_IF_ERROR(r->uint(1, e.count));
  SHOAL_RETURN_IF_ERROR(r->node_id(2, e.id));
  if (r->has(3)) SHOAL_RETURN_IF_ERROR(r->boolean(3, e.flag));
  return e;
}

Echo sample() { return Echo{"web-1", 42, NodeId(1, 2), true}; }

TEST(WireTest, EnvelopeRoundTrip) {
  Bytes b = encode_echo(sample(), true);
  auto env = decode_envelope(b, DecodeLimits::packet());
  ASSERT_TRUE(env) << env.status().to_string();
  EXPECT_EQ(env->type(), MsgType::kTestEcho);
  EXPECT_EQ(env->version(), kProtocolVersion);
  auto e = decode_echo(b);
  ASSERT_TRUE(e) << e.status().to_string();
  EXPECT_EQ(e->name, "web-1");
  EXPECT_EQ(e->count, 42u);
  EXPECT_EQ(e->id, NodeId(1, 2));
  EXPECT_TRUE(e->flag);
}

TEST(WireTest, OlderSenderWithoutTrailingFieldStillDecodes) {
  auto e = decode_echo(encode_echo(sample(), false));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->flag);
}

TEST(WireTest, NewerSenderTrailingFieldsAreIgnored) {
  auto e = decode_echo(encode_echo(sample(), true, 3));
  ASSERT_TRUE(e) << e.status().to_string();
  EXPECT_EQ(e->count, 42u);
}

TEST(WireTest, WrongFieldTypesNameTheField) {
  Bytes b = encode_envelope(MsgType::kTestEcho, 1, [](Packer& p) {
    p.pack_array(3);
    p.pack(std::string("x"));
    p.pack(std::string("not a number"));
    pack_node_id(p, NodeId(1, 1));
  });
  auto e = decode_echo(b);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.status().code(), StatusCode::kDecode);
  EXPECT_NE(e.status().message().find("test_echo field 1"), std::string::npos)
      << e.status().message();
}

TEST(WireTest, MissingRequiredFieldIsAnError) {
  Bytes b = encode_envelope(MsgType::kTestEcho, 1, [](Packer& p) {
    p.pack_array(2);
    p.pack(std::string("x"));
    p.pack_uint32(1);
  });
  auto e = decode_echo(b);
  ASSERT_FALSE(e);
  EXPECT_NE(e.status().message().find("field 2: missing"), std::string::npos);
}

TEST(WireTest, IntegerRangeIsChecked) {
  Bytes b = encode_envelope(MsgType::kTestEcho, 1, [](Packer& p) {
    p.pack_array(3);
    p.pack(std::string("x"));
    p.pack_uint64(1ULL << 40);  // does not fit the uint32 field
    pack_node_id(p, NodeId(1, 1));
  });
  EXPECT_FALSE(decode_echo(b));
}

TEST(WireTest, EveryTruncationIsRejected) {
  Bytes b = encode_echo(sample(), true);
  for (size_t n = 0; n < b.size(); ++n) {
    auto env = decode_envelope(std::span(b.data(), n), DecodeLimits::packet());
    EXPECT_FALSE(env) << "prefix of " << n << " bytes decoded";
  }
}

TEST(WireTest, TrailingGarbageIsRejected) {
  Bytes b = encode_echo(sample(), true);
  b.push_back(0xc0);
  auto env = decode_envelope(b, DecodeLimits::packet());
  ASSERT_FALSE(env);
  EXPECT_NE(env.status().message().find("trailing"), std::string::npos);
}

TEST(WireTest, EnvelopeShapeIsChecked) {
  auto bad = [](auto write) {
    msgpack::sbuffer buf;
    Packer p(buf);
    write(p);
    Bytes b(buf.data(), buf.data() + buf.size());
    return decode_envelope(b, DecodeLimits::packet());
  };
  EXPECT_FALSE(bad([](Packer& p) { p.pack(7); }));
  EXPECT_FALSE(bad([](Packer& p) {
    p.pack_array(3);
    p.pack(70000);  // type above uint16
    p.pack(1);
    p.pack_array(0);
  }));
  EXPECT_FALSE(bad([](Packer& p) {
    p.pack_array(3);
    p.pack(1);
    p.pack(300);  // version above uint8
    p.pack_array(0);
  }));
  EXPECT_FALSE(bad([](Packer& p) {
    p.pack_array(3);
    p.pack(1);
    p.pack(1);
    p.pack(std::string("body is not an array"));
  }));
}

// Hostile headers: a count far larger than the bytes present must be refused
// by the validating pass, before msgpack-c would allocate for it.
TEST(WireTest, HugeArrayHeaderIsRejectedBeforeAllocating) {
  // array32 claiming 0xffffffff elements, then a few bytes.
  Bytes b = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03};
  DecodeLimits generous;
  generous.max_array = 0xffffffff;  // only the bytes-remaining check stands
  auto r = decode(b, generous);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("more than the bytes that remain"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(decode(b, DecodeLimits::packet()));
}

TEST(WireTest, TenMillionMembersHeaderIsRejected) {
  // [type, version, [ array32 of 10,000,000 members ... ]] in 40 bytes.
  Bytes b = {0x93, 0x01, 0x01, 0x91, 0xdd, 0x00, 0x98, 0x96, 0x80};
  b.resize(40, 0xc0);
  auto r = decode_envelope(b, DecodeLimits{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kDecode);
}

TEST(WireTest, HugeMapHeaderIsRejected) {
  Bytes b = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01};
  DecodeLimits generous;
  generous.max_map = 0xffffffff;
  EXPECT_FALSE(decode(b, generous));
}

TEST(WireTest, TwoGigabyteBinHeaderIsRejected) {
  Bytes b = {0xc6, 0x80, 0x00, 0x00, 0x00, 0x01, 0x02};
  DecodeLimits generous;
  generous.max_bin = 0xffffffff;
  auto r = decode(b, generous);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kDecode);
  EXPECT_FALSE(decode(b, DecodeLimits::packet()));
  // With the bytes present, the limit itself speaks.
  Bytes full = {0xc5, 0x13, 0x88};  // bin16 of 5000 bytes
  full.resize(3 + 5000, 0xab);
  DecodeLimits small;
  small.max_bin = 1000;
  auto limited = decode(full, small);
  ASSERT_FALSE(limited);
  EXPECT_NE(limited.status().message().find("exceeds the limit"), std::string::npos)
      << limited.status().message();
}

TEST(WireTest, LongStringOverLimitIsRejected) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack(std::string(5000, 'a'));
  Bytes b(buf.data(), buf.data() + buf.size());
  EXPECT_FALSE(decode(b, DecodeLimits::packet()));  // max_str 4096
  EXPECT_TRUE(decode(b, DecodeLimits{}));
}

TEST(WireTest, NestingDepthIsBounded) {
  Bytes deep(100, 0x91);  // [[[[...]]]] 100 levels
  deep.push_back(0xc0);
  auto r = decode(deep, DecodeLimits{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("nesting"), std::string::npos);
  Bytes ok(10, 0x91);
  ok.push_back(0xc0);
  EXPECT_TRUE(decode(ok, DecodeLimits{}));
}

TEST(WireTest, ExtTypesAreRefused) {
  Bytes b = {0xd4, 0x01, 0x00};  // fixext1
  EXPECT_FALSE(decode(b, DecodeLimits{}));
}

TEST(WireTest, OversizedBufferIsRejected) {
  DecodeLimits l;
  l.max_bytes = 8;
  Bytes b = encode_echo(sample(), true);
  auto r = decode(b, l);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge);
  EXPECT_FALSE(decode({}, l));
}

TEST(WireTest, RandomBytesNeverCrash) {
  Rng rng(11);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng.uniform(64) + 1);
    for (auto& x : b) x = static_cast<uint8_t>(rng.next_u64());
    if (decode(b, DecodeLimits::packet())) ++decoded;
    (void)decode_envelope(b, DecodeLimits::packet());
  }
  // Some random buffers are valid msgpack (a single fixint, say); most are not.
  EXPECT_GT(decoded, 0);
  EXPECT_LT(decoded, 20000);
}

TEST(WireTest, MsgTypeNames) {
  EXPECT_STREQ(msg_type_name(MsgType::kTestEcho), "test_echo");
  EXPECT_STREQ(msg_type_name(static_cast<MsgType>(4242)), "unknown");
}

}  // namespace
}  // namespace shoal::wire
