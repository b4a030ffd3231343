#include "gossip/codec.h"

#include <algorithm>

namespace shoal::gossip::codec {

namespace {

using wire::FieldReader;
using wire::Packer;

constexpr uint8_t kVersion = wire::kProtocolVersion;

// ---------------------------------------------------------------- packing

void pack_str(Packer& p, const std::string& s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_bin(Packer& p, const Bytes& b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

void pack_meta(Packer& p, const NodeMeta& m) {
  p.pack_array(13);
  pack_str(p, m.name);
  pack_str(p, m.gossip.ip);
  p.pack_uint16(m.gossip.port);
  p.pack_uint16(m.rpc_port);
  p.pack_uint16(m.http_port);
  p.pack_uint16(m.dns_port);
  p.pack_map(static_cast<uint32_t>(m.attrs.size()));
  for (const auto& [k, v] : m.attrs) {
    pack_str(p, k);
    pack_str(p, v);
  }
  p.pack_array(2);
  p.pack_uint32(m.resources.cpu_mhz);
  p.pack_uint32(m.resources.memory_mb);
  p.pack_array(static_cast<uint32_t>(m.tags.size()));
  for (const auto& t : m.tags) pack_str(p, t);
  pack_str(p, m.cluster_id);
  pack_str(p, m.role);
  p.pack_uint8(m.protocol_min);
  p.pack_uint8(m.protocol_max);
}

void pack_member(Packer& p, const MemberView& m) {
  p.pack_array(4);
  wire::pack_node_id(p, m.id);
  p.pack_uint64(m.incarnation);
  p.pack_uint8(static_cast<uint8_t>(m.status));
  pack_meta(p, *m.meta);
}

template <class F>
Bytes envelope(MsgType type, F&& body) {
  return wire::encode_envelope(type, kVersion, std::forward<F>(body));
}

// ---------------------------------------------------------------- reading

// A nested positional array. FieldReader::array() would build a dotted
// name for error messages on every call; with the short fixed names used
// here the hot decode path allocates nothing for them.
Status open_nested(const FieldReader& r, size_t i, const char* what, FieldReader& out) {
  if (!r.has(i) || r.at(i).type != msgpack::type::ARRAY) {
    return Status::decode(std::string(what) + ": expected an array in field " + std::to_string(i));
  }
  auto opened = FieldReader::open(r.at(i), what);
  if (!opened) return opened.status();
  out = std::move(*opened);
  return Status::ok();
}

Status read_address(const FieldReader& r, size_t ip_field, size_t port_field, Address& out) {
  SHOAL_RETURN_IF_ERROR(r.str(ip_field, out.ip, kMaxIpBytes));
  return r.uint(port_field, out.port);
}

bool is_str(const msgpack::object& o, size_t max) {
  return o.type == msgpack::type::STR && o.via.str.size <= max;
}
bool is_uint(const msgpack::object& o, uint64_t max) {
  return o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 <= max;
}
std::string as_str(const msgpack::object& o) { return std::string(o.via.str.ptr, o.via.str.size); }

// Metadata is checked without building anything (the common case is an
// alive message we already know); decode_meta() then cannot fail.
Status validate_meta(const msgpack::object& o) {
  auto bad = [](const char* what) { return Status::decode(std::string("meta: bad ") + what); };
  if (o.type != msgpack::type::ARRAY || o.via.array.size < 13) {
    return Status::decode("meta: expected an array of 13 fields");
  }
  const msgpack::object* f = o.via.array.ptr;
  if (!is_str(f[0], kMaxNameBytes)) return bad("name");
  if (!is_str(f[1], kMaxIpBytes)) return bad("ip");
  for (int i = 2; i <= 5; ++i) {
    if (!is_uint(f[i], 0xffff)) return bad("port");
  }
  if (f[6].type != msgpack::type::MAP || f[6].via.map.size > kMaxAttrs) return bad("attrs");
  for (uint32_t i = 0; i < f[6].via.map.size; ++i) {
    const msgpack::object_kv& kv = f[6].via.map.ptr[i];
    if (!is_str(kv.key, kMaxAttrKeyBytes) || !is_str(kv.val, kMaxAttrValueBytes))
      return bad("attr");
  }
  if (f[7].type != msgpack::type::ARRAY || f[7].via.array.size < 2 ||
      !is_uint(f[7].via.array.ptr[0], 0xffffffff) || !is_uint(f[7].via.array.ptr[1], 0xffffffff)) {
    return bad("resources");
  }
  if (f[8].type != msgpack::type::ARRAY || f[8].via.array.size > kMaxTags) return bad("tags");
  for (uint32_t i = 0; i < f[8].via.array.size; ++i) {
    if (!is_str(f[8].via.array.ptr[i], kMaxTagBytes)) return bad("tag");
  }
  if (!is_str(f[9], kMaxClusterIdBytes)) return bad("cluster id");
  if (!is_str(f[10], kMaxRoleBytes)) return bad("role");
  if (!is_uint(f[11], 0xff) || !is_uint(f[12], 0xff)) return bad("protocol versions");
  return Status::ok();
}

NodeMeta decode_meta(const msgpack::object& o) {
  const msgpack::object* f = o.via.array.ptr;
  NodeMeta m;
  m.name = as_str(f[0]);
  m.gossip.ip = as_str(f[1]);
  m.gossip.port = static_cast<uint16_t>(f[2].via.u64);
  m.rpc_port = static_cast<uint16_t>(f[3].via.u64);
  m.http_port = static_cast<uint16_t>(f[4].via.u64);
  m.dns_port = static_cast<uint16_t>(f[5].via.u64);
  for (uint32_t i = 0; i < f[6].via.map.size; ++i) {
    const msgpack::object_kv& kv = f[6].via.map.ptr[i];
    m.attrs.insert_or_assign(as_str(kv.key), as_str(kv.val));
  }
  m.resources.cpu_mhz = static_cast<uint32_t>(f[7].via.array.ptr[0].via.u64);
  m.resources.memory_mb = static_cast<uint32_t>(f[7].via.array.ptr[1].via.u64);
  m.tags.reserve(f[8].via.array.size);
  for (uint32_t i = 0; i < f[8].via.array.size; ++i)
    m.tags.push_back(as_str(f[8].via.array.ptr[i]));
  m.cluster_id = as_str(f[9]);
  m.role = as_str(f[10]);
  m.protocol_min = static_cast<uint8_t>(f[11].via.u64);
  m.protocol_max = static_cast<uint8_t>(f[12].via.u64);
  return m;
}

Status read_member(const msgpack::object& o, MemberIn& m) {
  auto r = FieldReader::open(o, "member");
  if (!r) return r.status();
  SHOAL_RETURN_IF_ERROR(r->node_id(0, m.id));
  SHOAL_RETURN_IF_ERROR(r->u64(1, m.incarnation));
  uint8_t status = 0;
  SHOAL_RETURN_IF_ERROR(r->uint(2, status));
  if (status > static_cast<uint8_t>(MemberStatus::kLeft)) {
    return Status::decode("member field 2: unknown status " + std::to_string(status));
  }
  m.status = static_cast<MemberStatus>(status);
  if (!r->has(3)) return Status::decode("member field 3: missing meta");
  SHOAL_RETURN_IF_ERROR(validate_meta(r->at(3)));
  m.meta = RawMeta(&r->at(3));
  return Status::ok();
}

Status read_members(const FieldReader& r, size_t field, std::vector<MemberIn>& out) {
  FieldReader list;
  SHOAL_RETURN_IF_ERROR(open_nested(r, field, "members", list));
  if (list.size() > kMaxMembers) {
    return Status::decode("member list of " + std::to_string(list.size()) +
                          " entries exceeds the limit of " + std::to_string(kMaxMembers));
  }
  out.resize(list.size());
  for (size_t i = 0; i < list.size(); ++i) SHOAL_RETURN_IF_ERROR(read_member(list.at(i), out[i]));
  return Status::ok();
}

// Decodes the body of one UDP message type. `known` is false for a type
// this version does not know (skipped, not an error).
Result<Message> decode_body(MsgType type, const msgpack::object& body, bool& known) {
  known = true;
  auto opened = FieldReader::open(body, msg_type_name(type));
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  switch (type) {
    case MsgType::kGossipPing: {
      Ping m;
      SHOAL_RETURN_IF_ERROR(r.uint(0, m.seq));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.target));
      SHOAL_RETURN_IF_ERROR(r.node_id(2, m.source));
      return Message(m);
    }
    case MsgType::kGossipIndirectPing: {
      IndirectPing m;
      SHOAL_RETURN_IF_ERROR(r.uint(0, m.seq));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.target));
      SHOAL_RETURN_IF_ERROR(read_address(r, 2, 3, m.target_addr));
      SHOAL_RETURN_IF_ERROR(r.node_id(4, m.source));
      SHOAL_RETURN_IF_ERROR(r.boolean(5, m.nack));
      SHOAL_RETURN_IF_ERROR(r.uint(6, m.nack_after_ms));
      return Message(m);
    }
    case MsgType::kGossipAck: {
      Ack m;
      SHOAL_RETURN_IF_ERROR(r.uint(0, m.seq));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.source));
      return Message(m);
    }
    case MsgType::kGossipNack: {
      Nack m;
      SHOAL_RETURN_IF_ERROR(r.uint(0, m.seq));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.source));
      return Message(m);
    }
    case MsgType::kGossipAlive: {
      AliveIn m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.incarnation));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.id));
      if (!r.has(2)) return Status::decode("gossip_alive field 2: missing meta");
      SHOAL_RETURN_IF_ERROR(validate_meta(r.at(2)));
      m.meta = RawMeta(&r.at(2));
      return Message(m);
    }
    case MsgType::kGossipSuspect: {
      Suspect m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.incarnation));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.id));
      SHOAL_RETURN_IF_ERROR(r.node_id(2, m.from));
      return Message(m);
    }
    case MsgType::kGossipDead: {
      Dead m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.incarnation));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.id));
      SHOAL_RETURN_IF_ERROR(r.node_id(2, m.from));
      return Message(m);
    }
    case MsgType::kGossipLeft: {
      Left m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.incarnation));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.id));
      return Message(m);
    }
    case MsgType::kGossipQuery: {
      Query m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.id));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.origin));
      SHOAL_RETURN_IF_ERROR(read_address(r, 2, 3, m.origin_addr));
      SHOAL_RETURN_IF_ERROR(r.str(4, m.name, kMaxQueryNameBytes));
      SHOAL_RETURN_IF_ERROR(r.bin(5, m.payload, kMaxQueryPayloadBytes));
      SHOAL_RETURN_IF_ERROR(r.uint(6, m.timeout_ms));
      return Message(std::move(m));
    }
    case MsgType::kGossipQueryResponse: {
      QueryResponse m;
      SHOAL_RETURN_IF_ERROR(r.u64(0, m.id));
      SHOAL_RETURN_IF_ERROR(r.node_id(1, m.origin));
      SHOAL_RETURN_IF_ERROR(r.node_id(2, m.responder));
      SHOAL_RETURN_IF_ERROR(r.bin(3, m.payload, kMaxQueryPayloadBytes));
      return Message(std::move(m));
    }
    case MsgType::kGossipCompound:
    case MsgType::kGossipPushPull:
    case MsgType::kGossipMemberList:
      return Status::decode(std::string(msg_type_name(type)) + " is not a packet part");
    default:
      known = false;
      return Status::decode("unknown message type " + std::to_string(static_cast<unsigned>(type)));
  }
}

// The [type, version, body] shape of an envelope nested in a compound.
Status open_part(const msgpack::object& o, MsgType& type, const msgpack::object*& body) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size < 3) {
    return Status::decode("compound part must be an envelope [type, version, body]");
  }
  const msgpack::object* items = o.via.array.ptr;
  if (items[0].type != msgpack::type::POSITIVE_INTEGER || items[0].via.u64 > 0xffff) {
    return Status::decode("compound part type must be a uint16");
  }
  if (items[1].type != msgpack::type::POSITIVE_INTEGER || items[1].via.u64 == 0 ||
      items[1].via.u64 > 0xff) {
    return Status::decode("compound part version must be a uint8 >= 1");
  }
  type = static_cast<MsgType>(items[0].via.u64);
  body = &items[2];
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------- limits

wire::DecodeLimits packet_limits() { return wire::DecodeLimits::packet(); }

wire::DecodeLimits stream_limits() {
  wire::DecodeLimits l;
  l.max_bytes = kMaxStreamBytes;
  l.max_array = kMaxMembers;
  l.max_map = kMaxAttrs;
  l.max_str = 64 * 1024;
  l.max_bin = 1 << 20;
  l.max_depth = 8;
  return l;
}

// ---------------------------------------------------------------- encoders

Bytes encode(const Ping& m) {
  return envelope(MsgType::kGossipPing, [&](Packer& p) {
    p.pack_array(3);
    p.pack_uint32(m.seq);
    wire::pack_node_id(p, m.target);
    wire::pack_node_id(p, m.source);
  });
}

Bytes encode(const IndirectPing& m) {
  return envelope(MsgType::kGossipIndirectPing, [&](Packer& p) {
    p.pack_array(7);
    p.pack_uint32(m.seq);
    wire::pack_node_id(p, m.target);
    pack_str(p, m.target_addr.ip);
    p.pack_uint16(m.target_addr.port);
    wire::pack_node_id(p, m.source);
    p.pack(m.nack);
    p.pack_uint32(m.nack_after_ms);
  });
}

Bytes encode(const Ack& m) {
  return envelope(MsgType::kGossipAck, [&](Packer& p) {
    p.pack_array(2);
    p.pack_uint32(m.seq);
    wire::pack_node_id(p, m.source);
  });
}

Bytes encode(const Nack& m) {
  return envelope(MsgType::kGossipNack, [&](Packer& p) {
    p.pack_array(2);
    p.pack_uint32(m.seq);
    wire::pack_node_id(p, m.source);
  });
}

Bytes encode_alive(uint64_t incarnation, const NodeId& id, const NodeMeta& meta) {
  return envelope(MsgType::kGossipAlive, [&](Packer& p) {
    p.pack_array(3);
    p.pack_uint64(incarnation);
    wire::pack_node_id(p, id);
    pack_meta(p, meta);
  });
}

Bytes encode(const Alive& m) { return encode_alive(m.incarnation, m.id, m.meta); }

Bytes encode(const Suspect& m) {
  return envelope(MsgType::kGossipSuspect, [&](Packer& p) {
    p.pack_array(3);
    p.pack_uint64(m.incarnation);
    wire::pack_node_id(p, m.id);
    wire::pack_node_id(p, m.from);
  });
}

Bytes encode(const Dead& m) {
  return envelope(MsgType::kGossipDead, [&](Packer& p) {
    p.pack_array(3);
    p.pack_uint64(m.incarnation);
    wire::pack_node_id(p, m.id);
    wire::pack_node_id(p, m.from);
  });
}

Bytes encode(const Left& m) {
  return envelope(MsgType::kGossipLeft, [&](Packer& p) {
    p.pack_array(2);
    p.pack_uint64(m.incarnation);
    wire::pack_node_id(p, m.id);
  });
}

Bytes encode(const Query& m) {
  return envelope(MsgType::kGossipQuery, [&](Packer& p) {
    p.pack_array(7);
    p.pack_uint64(m.id);
    wire::pack_node_id(p, m.origin);
    pack_str(p, m.origin_addr.ip);
    p.pack_uint16(m.origin_addr.port);
    pack_str(p, m.name);
    pack_bin(p, m.payload);
    p.pack_uint32(m.timeout_ms);
  });
}

Bytes encode(const QueryResponse& m) {
  return envelope(MsgType::kGossipQueryResponse, [&](Packer& p) {
    p.pack_array(4);
    p.pack_uint64(m.id);
    wire::pack_node_id(p, m.origin);
    wire::pack_node_id(p, m.responder);
    pack_bin(p, m.payload);
  });
}

Bytes encode_push_pull(bool join, const NodeId& sender, const std::vector<MemberView>& members) {
  return envelope(MsgType::kGossipPushPull, [&](Packer& p) {
    p.pack_array(3);
    p.pack(join);
    wire::pack_node_id(p, sender);
    p.pack_array(static_cast<uint32_t>(members.size()));
    for (const MemberView& m : members) pack_member(p, m);
  });
}

Bytes encode_member_list(const std::vector<MemberView>& members) {
  return envelope(MsgType::kGossipMemberList, [&](Packer& p) {
    p.pack_array(1);
    p.pack_array(static_cast<uint32_t>(members.size()));
    for (const MemberView& m : members) pack_member(p, m);
  });
}

size_t encoded_meta_size(const NodeMeta& meta) {
  msgpack::sbuffer buf;
  Packer p(buf);
  pack_meta(p, meta);
  return buf.size();
}

// ---------------------------------------------------------------- decoders

NodeMeta RawMeta::decode() const { return o_ == nullptr ? NodeMeta{} : decode_meta(*o_); }

Result<DecodedPacket> decode_packet(std::span<const uint8_t> bytes) {
  auto env = wire::decode_envelope(bytes, packet_limits());
  if (!env) return env.status();
  if (env->version() == 0) return Status::decode("packet version 0");
  DecodedPacket out;
  if (env->type() != MsgType::kGossipCompound) {
    bool known = true;
    auto m = decode_body(env->type(), env->body(), known);
    if (!m) {
      if (!known) return out;  // a newer sender's message: nothing for us
      return m.status();
    }
    out.messages.push_back(std::move(*m));
    out.env = std::move(*env);
    return out;
  }
  auto r = FieldReader::open(env->body(), "gossip_compound");
  if (!r) return r.status();
  FieldReader parts;
  SHOAL_RETURN_IF_ERROR(open_nested(*r, 0, "parts", parts));
  out.messages.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    MsgType type = MsgType::kInvalid;
    const msgpack::object* body = nullptr;
    SHOAL_RETURN_IF_ERROR(open_part(parts.at(i), type, body));
    bool known = true;
    auto m = decode_body(type, *body, known);
    if (!m) {
      if (!known) continue;
      return Status::decode("part " + std::to_string(i) + ": " + m.status().message());
    }
    out.messages.push_back(std::move(*m));
  }
  out.env = std::move(*env);
  return out;
}

Result<Ack> decode_ack(std::span<const uint8_t> bytes) {
  auto env = wire::decode_envelope(bytes, packet_limits());
  if (!env) return env.status();
  if (env->type() != MsgType::kGossipAck || env->version() == 0) {
    return Status::decode(std::string("expected gossip_ack, got ") + msg_type_name(env->type()));
  }
  bool known = true;
  auto m = decode_body(env->type(), env->body(), known);
  if (!m) return m.status();
  return std::get<Ack>(*m);
}

namespace {

Status push_pull_body(wire::Envelope env, PushPullIn& pp) {
  if (env.version() == 0) return Status::decode("push_pull version 0");
  auto r = FieldReader::open(env.body(), "gossip_push_pull");
  if (!r) return r.status();
  SHOAL_RETURN_IF_ERROR(r->boolean(0, pp.join));
  SHOAL_RETURN_IF_ERROR(r->node_id(1, pp.sender));
  SHOAL_RETURN_IF_ERROR(read_members(*r, 2, pp.members));
  pp.env = std::move(env);
  return Status::ok();
}

}  // namespace

Result<PushPullIn> decode_push_pull(std::span<const uint8_t> bytes) {
  auto env = wire::decode_envelope(bytes, stream_limits());
  if (!env) return env.status();
  if (env->type() != MsgType::kGossipPushPull) {
    return Status::decode(std::string("expected gossip_push_pull, got ") +
                          msg_type_name(env->type()));
  }
  PushPullIn pp;
  SHOAL_RETURN_IF_ERROR(push_pull_body(std::move(*env), pp));
  return pp;
}

Result<StreamRequestMsg> decode_stream_request(std::span<const uint8_t> bytes) {
  auto env = wire::decode_envelope(bytes, stream_limits());
  if (!env) return env.status();
  if (env->type() == MsgType::kGossipPushPull) {
    PushPullIn pp;
    SHOAL_RETURN_IF_ERROR(push_pull_body(std::move(*env), pp));
    return StreamRequestMsg(std::move(pp));
  }
  if (env->type() == MsgType::kGossipPing) {
    if (env->version() == 0) return Status::decode("ping version 0");
    bool known = true;
    auto m = decode_body(env->type(), env->body(), known);
    if (!m) return m.status();
    return StreamRequestMsg(std::get<Ping>(*m));
  }
  return Status::decode(std::string("unexpected stream request ") + msg_type_name(env->type()));
}

Result<std::vector<MemberState>> decode_member_list(std::span<const uint8_t> bytes) {
  auto env = wire::decode_envelope(bytes, stream_limits());
  if (!env) return env.status();
  if (env->type() != MsgType::kGossipMemberList) {
    return Status::decode(std::string("expected gossip_member_list, got ") +
                          msg_type_name(env->type()));
  }
  auto r = FieldReader::open(env->body(), "gossip_member_list");
  if (!r) return r.status();
  std::vector<MemberIn> in;
  SHOAL_RETURN_IF_ERROR(read_members(*r, 0, in));
  std::vector<MemberState> out;
  out.reserve(in.size());
  for (const MemberIn& m : in)
    out.push_back(MemberState{m.id, m.incarnation, m.status, m.meta.decode()});
  return out;
}

// ---------------------------------------------------------------- compound

size_t array_header_size(size_t n) {
  if (n <= 15) return 1;
  if (n <= 0xffff) return 3;
  return 5;
}

namespace {
// Header of the compound envelope: fixarray(3), the type and version as
// positive fixints (both < 128), and the body's fixarray(1) around the parts.
constexpr size_t kCompoundPrefix = 4;
static_assert(static_cast<unsigned>(MsgType::kGossipCompound) < 128);
static_assert(wire::kProtocolVersion < 128);
}  // namespace

size_t PacketBuilder::size() const {
  return kCompoundPrefix + array_header_size(parts_) + body_.size();
}

bool PacketBuilder::fits(size_t part_size) const {
  return kCompoundPrefix + array_header_size(parts_ + 1) + body_.size() + part_size <= budget_;
}

bool PacketBuilder::add(std::span<const uint8_t> part) {
  if (!fits(part.size())) return false;
  force(part);
  return true;
}

void PacketBuilder::force(std::span<const uint8_t> part) {
  body_.insert(body_.end(), part.begin(), part.end());
  ++parts_;
}

Bytes PacketBuilder::finish() const {
  // The header is written by hand (it is fixed: see kCompoundPrefix) so the
  // parts are copied once, straight into the packet.
  Bytes out;
  out.reserve(size());
  out.push_back(0x93);  // fixarray(3): [type, version, body]
  out.push_back(static_cast<uint8_t>(MsgType::kGossipCompound));
  out.push_back(kVersion);
  out.push_back(0x91);  // body: fixarray(1) around the parts
  if (parts_ <= 15) {
    out.push_back(static_cast<uint8_t>(0x90 | parts_));
  } else if (parts_ <= 0xffff) {
    out.push_back(0xdc);
    out.push_back(static_cast<uint8_t>(parts_ >> 8));
    out.push_back(static_cast<uint8_t>(parts_));
  } else {
    out.push_back(0xdd);
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(parts_ >> shift));
  }
  out.insert(out.end(), body_.begin(), body_.end());
  return out;
}

}  // namespace shoal::gossip::codec
