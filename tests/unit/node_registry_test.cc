// The node registry (scheduler/node_registry.h): NodeUpsert round trips,
// every validation error, apply with create/modify indexes and no bump for
// an identical record, differs() ignoring the timestamp, and the snapshot
// part.
#include "scheduler/node_registry.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

namespace shoal::scheduler {
namespace {

NodeRecord node(uint64_t n, std::string name = "") {
  NodeRecord r;
  r.id = NodeId(0x1000 + n, n);
  r.name = name.empty() ? "node-" + std::to_string(n) : std::move(name);
  r.address = "10.0.0." + std::to_string(n);
  r.rpc_port = 7781;
  r.http_port = 7780;
  r.dns_port = 7753;
  r.cpu_mhz = 4000;
  r.memory_mb = 8192;
  r.attrs = {{"os", "linux"}, {"zone", "a"}};
  r.since_unix_ms = 1700000000000ULL + n;
  r.role = "observer";
  return r;
}

NodeUpsert up(NodeRecord r) { return NodeUpsert{std::move(r)}; }

TEST(NodeRegistry, UpsertsRoundTrip) {
  NodeRecord bare;
  bare.id = NodeId(0, 1);
  bare.name = "x";
  NodeRecord full = node(7);
  full.eligible = false;
  full.drain = true;
  full.alive = false;
  full.rpc_port = 65535;
  full.cpu_mhz = 0xffffffffu;
  full.since_unix_ms = ~0ULL;
  full.name = std::string(kMaxNodeNameBytes, 'n');
  full.address = std::string(kMaxNodeAddressBytes, 'a');
  for (size_t i = full.attrs.size(); i < kMaxNodeAttrs; ++i) {
    full.attrs["k" + std::to_string(i)] = std::string(kMaxNodeAttrBytes, 'v');
  }
  full.attrs[std::string(kMaxNodeAttrBytes, 'z')] = "";
  full.attrs.erase("os");
  ASSERT_EQ(full.attrs.size(), kMaxNodeAttrs);
  for (const NodeRecord& r : {bare, node(1), full}) {
    auto back = decode_node_upsert(encode(up(r)));
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->node, r);
  }
}

TEST(NodeRegistry, IndexesAreNotCarried) {
  NodeRecord r = node(1);
  r.create_index = 5;
  r.modify_index = 9;
  auto back = decode_node_upsert(encode(up(r)));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->node.create_index, 0u);
  EXPECT_EQ(back->node.modify_index, 0u);
}

// Every validation error: validate_node refuses it, the decoder refuses its
// encoding, and apply changes nothing.
TEST(NodeRegistry, EveryValidationErrorIsRefused) {
  struct Case {
    const char* what;
    std::function<void(NodeRecord&)> spoil;
    const char* message;  // a substring of the error
  };
  const std::vector<Case> cases = {
      {"zero id", [](NodeRecord& r) { r.id = NodeId(); }, "id is zero"},
      {"empty name", [](NodeRecord& r) { r.name.clear(); }, "name is empty"},
      {"long name", [](NodeRecord& r) { r.name.assign(kMaxNodeNameBytes + 1, 'n'); }, "63"},
      {"long address", [](NodeRecord& r) { r.address.assign(kMaxNodeAddressBytes + 1, '1'); },
       "64"},
      {"too many attrs",
       [](NodeRecord& r) {
         for (size_t i = 0; r.attrs.size() <= kMaxNodeAttrs; ++i) r.attrs["a" + std::to_string(i)];
       },
       "64 attributes"},
      {"empty attr key", [](NodeRecord& r) { r.attrs[""] = "v"; }, "key is empty"},
      {"long attr key",
       [](NodeRecord& r) { r.attrs[std::string(kMaxNodeAttrBytes + 1, 'k')] = "v"; }, "256"},
      {"long attr value",
       [](NodeRecord& r) { r.attrs["k"] = std::string(kMaxNodeAttrBytes + 1, 'v'); }, "256"},
      {"long role", [](NodeRecord& r) { r.role.assign(kMaxNodeRoleBytes + 1, 'r'); }, "32"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    NodeRecord r = node(1);
    ASSERT_TRUE(validate_node(r).is_ok());
    c.spoil(r);
    Status st = validate_node(r);
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.to_string();
    auto decoded = decode_node_upsert(encode(up(r)));
    ASSERT_FALSE(decoded.is_ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kDecode);
    NodeRegistry reg;
    EXPECT_FALSE(reg.apply(1, up(r)));
    EXPECT_EQ(reg.size(), 0u);
  }
}

TEST(NodeRegistry, MalformedBytesAreRefused) {
  const std::vector<uint8_t> good = encode(up(node(1)));
  ASSERT_TRUE(decode_node_upsert(good).is_ok());
  std::vector<uint8_t> truncated = good;
  truncated.pop_back();
  EXPECT_FALSE(decode_node_upsert(truncated).is_ok());
  EXPECT_FALSE(decode_node_upsert({}).is_ok());
  // Wrong envelope type, version 0, a body that is too short, a wrong field type.
  auto with = [](MsgType type, uint8_t version, auto body) {
    return wire::encode_envelope(type, version, body);
  };
  EXPECT_FALSE(decode_node_upsert(with(MsgType::kStateKvCommand, 1, [](wire::Packer& p) {
                 p.pack_array(0);
               })).is_ok());
  std::vector<uint8_t> v0 = good;
  ASSERT_EQ(v0[4], kNodeUpsertVersion);  // [0x93, 0xcd, hi, lo] then the version
  v0[4] = 0;
  EXPECT_FALSE(decode_node_upsert(v0).is_ok());
  EXPECT_FALSE(decode_node_upsert(with(MsgType::kStateNodeUpsert, 1, [](wire::Packer& p) {
                 p.pack_array(1);
                 wire::pack_node_id(p, NodeId(1, 2));
               })).is_ok());
  auto bad_port = decode_node_upsert(with(MsgType::kStateNodeUpsert, 1, [](wire::Packer& p) {
    p.pack_array(4);
    wire::pack_node_id(p, NodeId(1, 2));
    p.pack_str(1);
    p.pack_str_body("n", 1);
    p.pack_str(0);
    p.pack_uint32(70000);  // rpc port beyond uint16
  }));
  ASSERT_FALSE(bad_port.is_ok());
  EXPECT_NE(bad_port.status().message().find("field 3"), std::string::npos)
      << bad_port.status().to_string();
}

TEST(NodeRegistry, TrailingFieldsOfNewerSendersAreIgnored) {
  const NodeRecord r = node(3);
  auto bytes = wire::encode_envelope(MsgType::kStateNodeUpsert, 1, [&](wire::Packer& p) {
    // The same record with one extra field appended by a newer build.
    auto full = encode(up(r));
    auto env = wire::decode_envelope(full, wire::DecodeLimits{});
    ASSERT_TRUE(env.is_ok());
    const msgpack::object& body = env->body();
    p.pack_array(body.via.array.size + 1);
    for (uint32_t i = 0; i < body.via.array.size; ++i) p.pack(body.via.array.ptr[i]);
    p.pack_str(3);
    p.pack_str_body("new", 3);
  });
  auto back = decode_node_upsert(bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->node, r);
}

TEST(NodeRegistry, AttributesMustBeInKeyOrder) {
  auto bytes = wire::encode_envelope(MsgType::kStateNodeUpsert, 1, [&](wire::Packer& p) {
    auto full = encode(up(node(1)));
    auto env = wire::decode_envelope(full, wire::DecodeLimits{});
    ASSERT_TRUE(env.is_ok());
    const msgpack::object& body = env->body();
    p.pack_array(body.via.array.size);
    for (uint32_t i = 0; i < body.via.array.size; ++i) {
      if (i != 8) {
        p.pack(body.via.array.ptr[i]);
        continue;
      }
      p.pack_array(2);  // "zone" before "os": not canonical
      for (const char* k : {"zone", "os"}) {
        p.pack_array(2);
        p.pack_str(static_cast<uint32_t>(std::strlen(k)));
        p.pack_str_body(k, static_cast<uint32_t>(std::strlen(k)));
        p.pack_str(1);
        p.pack_str_body("x", 1);
      }
    }
  });
  auto back = decode_node_upsert(bytes);
  ASSERT_FALSE(back.is_ok());
  EXPECT_NE(back.status().message().find("out of order"), std::string::npos)
      << back.status().to_string();
}

TEST(NodeRegistry, ApplySetsIndexesAndSkipsIdenticalRecords) {
  NodeRegistry reg;
  EXPECT_EQ(reg.find(node(1).id), nullptr);
  EXPECT_TRUE(reg.apply(3, up(node(1))));
  EXPECT_TRUE(reg.apply(4, up(node(2))));
  const NodeRecord* r = reg.find(node(1).id);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->create_index, 3u);
  EXPECT_EQ(r->modify_index, 3u);
  EXPECT_EQ(r->name, "node-1");

  NodeRecord same = node(1);
  same.create_index = 77;  // incoming indexes are ignored
  same.modify_index = 77;
  EXPECT_FALSE(reg.apply(6, up(same))) << "identical apart from indexes: no bump";
  EXPECT_EQ(reg.find(node(1).id)->modify_index, 3u);
  EXPECT_EQ(reg.index(), 4u);

  NodeRecord down = node(1);
  down.alive = false;
  down.since_unix_ms += 5000;
  EXPECT_TRUE(reg.apply(8, up(down)));
  r = reg.find(node(1).id);
  EXPECT_EQ(r->create_index, 3u);
  EXPECT_EQ(r->modify_index, 8u);
  EXPECT_FALSE(r->alive);
  EXPECT_EQ(reg.index(), 8u);

  NodeRecord later = down;
  later.since_unix_ms += 1;
  EXPECT_TRUE(reg.apply(9, up(later))) << "the timestamp alone is a change when written";
  EXPECT_EQ(reg.find(node(1).id)->since_unix_ms, later.since_unix_ms);
  EXPECT_EQ(reg.size(), 2u);
  EXPECT_EQ(reg.all().begin()->first, node(1).id) << "ordered by id";
}

TEST(NodeRegistry, DiffersIgnoresIndexesAndTimestamp) {
  NodeRegistry reg;
  EXPECT_TRUE(reg.differs(node(1))) << "unknown node";
  ASSERT_TRUE(reg.apply(1, up(node(1))));
  NodeRecord o = node(1);
  EXPECT_FALSE(reg.differs(o));
  o.since_unix_ms = 1;
  o.create_index = 99;
  o.modify_index = 99;
  EXPECT_FALSE(reg.differs(o));
  const std::vector<std::function<void(NodeRecord&)>> changes = {
      [](NodeRecord& r) { r.name = "other"; },   [](NodeRecord& r) { r.address = "10.9.9.9"; },
      [](NodeRecord& r) { r.rpc_port = 1; },     [](NodeRecord& r) { r.http_port = 1; },
      [](NodeRecord& r) { r.dns_port = 1; },     [](NodeRecord& r) { r.cpu_mhz = 1; },
      [](NodeRecord& r) { r.memory_mb = 1; },    [](NodeRecord& r) { r.attrs["zone"] = "b"; },
      [](NodeRecord& r) { r.eligible = false; }, [](NodeRecord& r) { r.drain = true; },
      [](NodeRecord& r) { r.alive = false; },    [](NodeRecord& r) { r.role = "voter"; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    NodeRecord c = node(1);
    changes[i](c);
    EXPECT_TRUE(reg.differs(c)) << "change " << i;
  }
}

Result<NodeRegistry> round_trip(const NodeRegistry& reg) {
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  reg.pack(p);
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  auto h = wire::decode(bytes, wire::DecodeLimits{});
  if (!h) return h.status();
  return NodeRegistry::unpack(h->get());
}

TEST(NodeRegistry, PartRoundTripsAndHashSeesChanges) {
  NodeRegistry reg;
  for (uint64_t i = 1; i <= 20; ++i)
    ASSERT_TRUE(reg.apply(i, up(node(i % 7 + 1, "n" + std::to_string(i)))));
  auto back = round_trip(reg);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->all(), reg.all());
  EXPECT_EQ(back->index(), reg.index());
  EXPECT_EQ(back->hash(), reg.hash());
  EXPECT_TRUE(round_trip(NodeRegistry()).is_ok());

  NodeRegistry other = reg;
  NodeRecord drained = *reg.find(node(1).id);
  drained.drain = true;
  ASSERT_TRUE(other.apply(21, up(drained)));
  EXPECT_NE(other.hash(), reg.hash());

  // Each field counts: two registries that differ only in one fact.
  NodeRegistry a;
  NodeRegistry b;
  NodeRecord later = node(1);
  later.since_unix_ms += 1;
  ASSERT_TRUE(a.apply(1, up(node(1))));
  ASSERT_TRUE(b.apply(1, up(later)));
  EXPECT_NE(a.hash(), b.hash());
}

TEST(NodeRegistry, InconsistentPartsAreRefused) {
  auto unpack = [](auto write) -> Status {
    msgpack::sbuffer buf;
    wire::Packer p(buf);
    write(p);
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
    auto h = wire::decode(bytes, wire::DecodeLimits{});
    if (!h) return h.status();
    auto r = NodeRegistry::unpack(h->get());
    return r.status();
  };
  auto entry = [](wire::Packer& p, const NodeRecord& r, uint64_t c, uint64_t m) {
    auto full = encode(up(r));
    auto env = wire::decode_envelope(full, wire::DecodeLimits{});
    p.pack_array(3);
    p.pack(env->body());
    p.pack_uint64(c);
    p.pack_uint64(m);
  };
  EXPECT_TRUE(unpack([&](wire::Packer& p) {
                p.pack_array(2);
                p.pack_uint64(5);
                p.pack_array(2);
                entry(p, node(1), 1, 2);
                entry(p, node(2), 3, 5);
              }).is_ok());
  EXPECT_FALSE(unpack([&](wire::Packer& p) {
                 p.pack_array(2);
                 p.pack_uint64(5);
                 p.pack_array(2);
                 entry(p, node(2), 1, 2);
                 entry(p, node(1), 3, 5);
               }).is_ok())
      << "ids out of order";
  EXPECT_FALSE(unpack([&](wire::Packer& p) {
                 p.pack_array(2);
                 p.pack_uint64(4);
                 p.pack_array(1);
                 entry(p, node(1), 1, 5);
               }).is_ok())
      << "modify index beyond the registry's index";
  EXPECT_FALSE(unpack([&](wire::Packer& p) {
                 p.pack_array(2);
                 p.pack_uint64(9);
                 p.pack_array(1);
                 entry(p, node(1), 6, 5);
               }).is_ok())
      << "created after modified";
  EXPECT_FALSE(unpack([&](wire::Packer& p) {
                 p.pack_array(2);
                 p.pack_uint64(9);
                 p.pack_array(1);
                 entry(p, node(1, std::string(70, 'x')), 1, 5);
               }).is_ok())
      << "invalid record";
  EXPECT_FALSE(unpack([&](wire::Packer& p) { p.pack_uint64(1); }).is_ok()) << "not an array";
}

}  // namespace
}  // namespace shoal::scheduler
