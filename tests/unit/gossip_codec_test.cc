// The gossip wire format (gossip/codec.h): round trips, bounds, compound
// packing within the byte budget, and hostile inputs.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "gossip/codec.h"
#include "gossip/gossip.h"

namespace shoal::gossip::codec {
namespace {

NodeMeta sample_meta(int i = 1) {
  NodeMeta m;
  m.name = "web-" + std::to_string(i);
  m.gossip = Address{"10.0.0." + std::to_string(i), 7782};
  m.rpc_port = 7781;
  m.http_port = 7780;
  m.dns_port = 7753;
  m.attrs = {{"zone", "eu-1"}, {"os", "linux"}};
  m.resources = {2400, 8192};
  m.tags = {"ssd", "gpu"};
  m.cluster_id = "c0ffee";
  m.role = "voter";
  m.protocol_min = 1;
  m.protocol_max = 2;
  return m;
}

template <class T>
const T& only(const DecodedPacket& p) {
  EXPECT_EQ(p.messages.size(), 1u);
  return std::get<T>(p.messages.at(0));
}

Bytes single(const Bytes& part) {
  PacketBuilder b(1400);
  b.force(part);
  return b.finish();
}

TEST(GossipCodec, EveryPacketMessageRoundTrips) {
  const NodeId a(1, 2), b(3, 4), c(5, 6);
  {
    auto p = decode_packet(single(encode(Ping{42, a, b})));
    ASSERT_TRUE(p) << p.status().to_string();
    const auto& m = only<Ping>(*p);
    EXPECT_EQ(m.seq, 42u);
    EXPECT_EQ(m.target, a);
    EXPECT_EQ(m.source, b);
  }
  {
    auto p = decode_packet(single(encode(IndirectPing{7, a, Address{"::1", 9}, b, true, 400})));
    ASSERT_TRUE(p) << p.status().to_string();
    const auto& m = only<IndirectPing>(*p);
    EXPECT_EQ(m.seq, 7u);
    EXPECT_EQ(m.target, a);
    EXPECT_EQ(m.target_addr, (Address{"::1", 9}));
    EXPECT_EQ(m.source, b);
    EXPECT_TRUE(m.nack);
    EXPECT_EQ(m.nack_after_ms, 400u);
  }
  {
    auto p = decode_packet(single(encode(Ack{0xffffffffu, c})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<Ack>(*p).seq, 0xffffffffu);
    EXPECT_EQ(only<Ack>(*p).source, c);
  }
  {
    auto p = decode_packet(single(encode(Nack{9, c})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<Nack>(*p).seq, 9u);
  }
  {
    auto p = decode_packet(single(encode(Alive{~uint64_t{0}, a, sample_meta()})));
    ASSERT_TRUE(p) << p.status().to_string();
    const auto& m = only<AliveIn>(*p);
    EXPECT_EQ(m.incarnation, ~uint64_t{0});
    EXPECT_EQ(m.id, a);
    EXPECT_EQ(m.meta.decode(), sample_meta());
  }
  {
    auto p = decode_packet(single(encode(Suspect{5, a, b})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<Suspect>(*p).incarnation, 5u);
    EXPECT_EQ(only<Suspect>(*p).from, b);
  }
  {
    auto p = decode_packet(single(encode(Dead{6, a, c})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<Dead>(*p).incarnation, 6u);
    EXPECT_EQ(only<Dead>(*p).from, c);
  }
  {
    auto p = decode_packet(single(encode(Left{8, b})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<Left>(*p).id, b);
  }
  {
    Query q{77, a, Address{"10.0.0.1", 7782}, "keyring", {1, 2, 3}, 5000};
    auto p = decode_packet(single(encode(q)));
    ASSERT_TRUE(p);
    const auto& m = only<Query>(*p);
    EXPECT_EQ(m.id, 77u);
    EXPECT_EQ(m.origin, a);
    EXPECT_EQ(m.origin_addr, q.origin_addr);
    EXPECT_EQ(m.name, "keyring");
    EXPECT_EQ(m.payload, q.payload);
    EXPECT_EQ(m.timeout_ms, 5000u);
  }
  {
    auto p = decode_packet(single(encode(QueryResponse{77, a, b, {9, 9}})));
    ASSERT_TRUE(p);
    EXPECT_EQ(only<QueryResponse>(*p).responder, b);
    EXPECT_EQ(only<QueryResponse>(*p).payload, (Bytes{9, 9}));
  }
}

TEST(GossipCodec, BarePartIsAcceptedAsAPacket) {
  // A future sender may skip the compound for a lone message.
  auto p = decode_packet(encode(Ping{1, NodeId(1, 1), NodeId(2, 2)}));
  ASSERT_TRUE(p) << p.status().to_string();
  EXPECT_EQ(only<Ping>(*p).seq, 1u);
}

TEST(GossipCodec, PushPullAndMemberListRoundTrip) {
  std::vector<NodeMeta> metas;
  for (int i = 0; i < 5; ++i) metas.push_back(sample_meta(i));
  std::vector<MemberView> views;
  for (int i = 0; i < 5; ++i) {
    views.push_back(MemberView{NodeId(10, static_cast<uint64_t>(i)), static_cast<uint64_t>(i * 3),
                               static_cast<MemberStatus>(i % 4), &metas[static_cast<size_t>(i)]});
  }
  auto pp = decode_push_pull(encode_push_pull(true, NodeId(10, 0), views));
  ASSERT_TRUE(pp) << pp.status().to_string();
  EXPECT_TRUE(pp->join);
  EXPECT_EQ(pp->sender, NodeId(10, 0));
  ASSERT_EQ(pp->members.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(pp->members[i].id, views[i].id);
    EXPECT_EQ(pp->members[i].incarnation, views[i].incarnation);
    EXPECT_EQ(pp->members[i].status, views[i].status);
    EXPECT_EQ(pp->members[i].meta.decode(), metas[i]);
  }
  auto list = decode_member_list(encode_member_list(views));
  ASSERT_TRUE(list) << list.status().to_string();
  ASSERT_EQ(list->size(), 5u);
  EXPECT_EQ((*list)[3].meta, metas[3]);
  EXPECT_EQ((*list)[3].status, MemberStatus::kLeft);

  auto req = decode_stream_request(encode_push_pull(false, NodeId(10, 0), views));
  ASSERT_TRUE(req);
  EXPECT_TRUE(std::holds_alternative<PushPullIn>(*req));
  auto ping = decode_stream_request(encode(Ping{3, NodeId(1, 1), NodeId(2, 2)}));
  ASSERT_TRUE(ping);
  EXPECT_EQ(std::get<Ping>(*ping).seq, 3u);
  EXPECT_FALSE(decode_stream_request(encode(Ack{3, NodeId(1, 1)})));
}

TEST(GossipCodec, TrailingFieldsFromANewerSenderAreIgnored) {
  // An alive message with two extra fields after the meta, and a meta with
  // an extra trailing field: both still decode.
  const NodeMeta meta = sample_meta();
  Bytes bytes = wire::encode_envelope(MsgType::kGossipAlive, 1, [&](wire::Packer& p) {
    p.pack_array(5);
    p.pack_uint64(3);
    wire::pack_node_id(p, NodeId(1, 1));
    p.pack_array(14);
    p.pack(meta.name);
    p.pack(meta.gossip.ip);
    p.pack_uint16(meta.gossip.port);
    p.pack_uint16(meta.rpc_port);
    p.pack_uint16(meta.http_port);
    p.pack_uint16(meta.dns_port);
    p.pack(meta.attrs);
    p.pack_array(2);
    p.pack_uint32(meta.resources.cpu_mhz);
    p.pack_uint32(meta.resources.memory_mb);
    p.pack(meta.tags);
    p.pack(meta.cluster_id);
    p.pack(meta.role);
    p.pack_uint8(meta.protocol_min);
    p.pack_uint8(meta.protocol_max);
    p.pack(std::string("meta field from the future"));
    p.pack(true);
    p.pack(std::string("alive field from the future"));
  });
  auto p = decode_packet(bytes);
  ASSERT_TRUE(p) << p.status().to_string();
  EXPECT_EQ(only<AliveIn>(*p).meta.decode(), meta);
}

TEST(GossipCodec, UnknownPartTypesAreSkipped) {
  const Bytes future = wire::encode_envelope(static_cast<MsgType>(900), 1, [](wire::Packer& p) {
    p.pack_array(1);
    p.pack(std::string("something new"));
  });
  PacketBuilder b(1400);
  b.force(future);
  b.force(encode(Ping{5, NodeId(1, 1), NodeId(2, 2)}));
  auto p = decode_packet(b.finish());
  ASSERT_TRUE(p) << p.status().to_string();
  EXPECT_EQ(only<Ping>(*p).seq, 5u);
}

TEST(GossipCodec, OneBadPartRejectsThePacket) {
  PacketBuilder b(1400);
  b.force(encode(Ping{5, NodeId(1, 1), NodeId(2, 2)}));
  // A ping whose target is 3 bytes long.
  b.force(wire::encode_envelope(MsgType::kGossipPing, 1, [](wire::Packer& p) {
    p.pack_array(3);
    p.pack_uint32(1);
    p.pack_bin(3);
    p.pack_bin_body("abc", 3);
    wire::pack_node_id(p, NodeId(1, 1));
  }));
  auto p = decode_packet(b.finish());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.status().code(), StatusCode::kDecode);
}

TEST(GossipCodec, BoundsAreEnforced) {
  NodeMeta big = sample_meta();
  big.name.assign(kMaxNameBytes + 1, 'x');
  EXPECT_FALSE(decode_packet(single(encode(Alive{1, NodeId(1, 1), big}))));
  big = sample_meta();
  for (size_t i = 0; i <= kMaxAttrs; ++i) big.attrs["k" + std::to_string(i)] = "v";
  EXPECT_FALSE(decode_packet(single(encode(Alive{1, NodeId(1, 1), big}))));
  big = sample_meta();
  big.tags.assign(kMaxTags + 1, "t");
  EXPECT_FALSE(decode_packet(single(encode(Alive{1, NodeId(1, 1), big}))));
  // A port above 65535.
  const Bytes port = wire::encode_envelope(MsgType::kGossipIndirectPing, 1, [](wire::Packer& p) {
    p.pack_array(7);
    p.pack_uint32(1);
    wire::pack_node_id(p, NodeId(1, 1));
    p.pack(std::string("10.0.0.1"));
    p.pack_uint32(70000);
    wire::pack_node_id(p, NodeId(2, 2));
    p.pack(true);
    p.pack_uint32(10);
  });
  EXPECT_FALSE(decode_packet(port));
  // Unknown member status in a push-pull.
  const NodeMeta meta = sample_meta();
  std::vector<MemberView> views{{NodeId(1, 1), 1, MemberStatus::kAlive, &meta}};
  Bytes pp = encode_push_pull(false, NodeId(1, 1), views);
  // The status byte is the positive fixint 0 right before the meta array
  // (0x9d: fixarray of 13); make it 9.
  for (size_t i = 1; i < pp.size(); ++i) {
    if (pp[i] == 0x9d && pp[i - 1] == 0x00) {
      pp[i - 1] = 0x09;
      break;
    }
  }
  auto bad = decode_push_pull(pp);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("status"), std::string::npos) << bad.status().to_string();
}

TEST(GossipCodec, PushPullClaimingTenMillionMembersIsRejected) {
  // A header [type, version, [join, sender, array32(10,000,000)]] followed by
  // a few bytes: rejected before anything is allocated.
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  p.pack_array(3);
  p.pack_uint16(static_cast<uint16_t>(MsgType::kGossipPushPull));
  p.pack_uint8(1);
  p.pack_array(3);
  p.pack(false);
  wire::pack_node_id(p, NodeId(1, 1));
  p.pack_array(10'000'000);
  for (int i = 0; i < 32; ++i) p.pack_nil();
  const auto* data = reinterpret_cast<const uint8_t*>(buf.data());
  auto pp = decode_push_pull(std::span<const uint8_t>(data, buf.size()));
  ASSERT_FALSE(pp);
  EXPECT_EQ(pp.status().code(), StatusCode::kDecode) << pp.status().to_string();
  // The same through the stream entry point and the persisted-list decoder.
  EXPECT_FALSE(decode_stream_request(std::span<const uint8_t>(data, buf.size())));
  // Exactly at the limit but without the bytes behind it: still rejected.
  msgpack::sbuffer buf2;
  wire::Packer p2(buf2);
  p2.pack_array(3);
  p2.pack_uint16(static_cast<uint16_t>(MsgType::kGossipMemberList));
  p2.pack_uint8(1);
  p2.pack_array(1);
  p2.pack_array(static_cast<uint32_t>(kMaxMembers));
  EXPECT_FALSE(decode_member_list(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf2.data()), buf2.size())));
}

TEST(GossipCodec, CompoundPackingRespectsTheBudgetExactly) {
  Rng rng(7);
  for (size_t budget : {size_t{64}, size_t{300}, size_t{1323}, size_t{1400}, size_t{9000}}) {
    PacketBuilder b(budget);
    size_t added = 0;
    for (int i = 0; i < 400; ++i) {
      NodeMeta m = sample_meta(i);
      m.attrs["pad"] = std::string(rng.uniform(200), 'p');
      const Bytes part =
          encode(Alive{static_cast<uint64_t>(i), NodeId(1, static_cast<uint64_t>(i)), m});
      const bool fit = b.fits(part.size());
      EXPECT_EQ(b.add(part), fit);
      if (fit) ++added;
      ASSERT_LE(b.size(), budget);
    }
    const Bytes packet = b.finish();
    EXPECT_EQ(packet.size(), b.size()) << budget;
    EXPECT_LE(packet.size(), budget);
    // Filling up: less room left than the smallest alive part.
    EXPECT_LT(b.remaining(), 100u);
    auto decoded = decode_packet(packet);
    if (added == 0) continue;
    ASSERT_TRUE(decoded) << decoded.status().to_string();
    EXPECT_EQ(decoded->messages.size(), added);
  }
  // More than 15 and more than 65,535 parts switch array headers: sizes stay exact.
  PacketBuilder many(1 << 20);
  const Bytes nack = encode(Nack{1, NodeId(1, 1)});
  for (int i = 0; i < 70000; ++i) {
    many.force(nack);
    if (i == 14 || i == 15 || i == 65534 || i == 65535) {
      ASSERT_EQ(many.finish().size(), many.size()) << i;
    }
  }
}

TEST(GossipCodec, CheckMetaBoundsMetadataToOnePacket) {
  EXPECT_TRUE(Gossip::check_meta(sample_meta()).is_ok());
  NodeMeta m = sample_meta();
  for (int i = 0; i < 40; ++i) m.attrs["attribute-" + std::to_string(i)] = std::string(30, 'v');
  const Status st = Gossip::check_meta(m);
  EXPECT_EQ(st.code(), StatusCode::kTooLarge) << st.to_string();
  m = sample_meta();
  m.name.assign(kMaxNameBytes + 1, 'n');
  EXPECT_EQ(Gossip::check_meta(m).code(), StatusCode::kInvalidArgument);
  m = sample_meta();
  m.role.assign(kMaxRoleBytes + 1, 'r');
  EXPECT_FALSE(Gossip::check_meta(m).is_ok());
}

TEST(GossipCodec, MembersPersistenceRoundTripAndLimits) {
  std::vector<Member> ms(3);
  for (size_t i = 0; i < ms.size(); ++i) {
    ms[i].id = NodeId(9, i);
    ms[i].meta = sample_meta(static_cast<int>(i));
    ms[i].incarnation = i + 10;
    ms[i].status = static_cast<MemberStatus>(i);
  }
  const auto bytes = Gossip::encode_members(ms);
  auto back = Gossip::decode_members(bytes);
  ASSERT_TRUE(back) << back.status().to_string();
  ASSERT_EQ(back->size(), 3u);
  for (size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ((*back)[i].id, ms[i].id);
    EXPECT_EQ((*back)[i].meta, ms[i].meta);
    EXPECT_EQ((*back)[i].incarnation, ms[i].incarnation);
    EXPECT_EQ((*back)[i].status, ms[i].status);
  }
  // Truncated, empty, or another message type: errors, never a crash.
  EXPECT_FALSE(Gossip::decode_members(std::span<const uint8_t>(bytes.data(), bytes.size() / 2)));
  EXPECT_FALSE(Gossip::decode_members({}));
  EXPECT_FALSE(Gossip::decode_members(encode(Ping{1, NodeId(1, 1), NodeId(1, 2)})));
}

}  // namespace
}  // namespace shoal::gossip::codec
