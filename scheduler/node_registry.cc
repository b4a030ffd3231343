#include "scheduler/node_registry.h"

#include "core/fnv.h"
#include "core/msg_types.h"

namespace shoal::scheduler {

namespace {

// The record's positional fields (version 1); later versions only append.
constexpr size_t kRecordFields = 14;

void pack_str(wire::Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_record(wire::Packer& p, const NodeRecord& n) {
  p.pack_array(kRecordFields);
  wire::pack_node_id(p, n.id);
  pack_str(p, n.name);
  pack_str(p, n.address);
  p.pack_uint16(n.rpc_port);
  p.pack_uint16(n.http_port);
  p.pack_uint16(n.dns_port);
  p.pack_uint32(n.cpu_mhz);
  p.pack_uint32(n.memory_mb);
  p.pack_array(static_cast<uint32_t>(n.attrs.size()));
  for (const auto& [k, v] : n.attrs) {
    p.pack_array(2);
    pack_str(p, k);
    pack_str(p, v);
  }
  if (n.eligible) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  if (n.drain) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  if (n.alive) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  p.pack_uint64(n.since_unix_ms);
  pack_str(p, n.role);
}

// Reads the fields pack_record wrote (ignoring trailing ones) and validates.
Status read_record(const wire::FieldReader& r, NodeRecord& n) {
  SHOAL_RETURN_IF_ERROR(r.node_id(0, n.id));
  SHOAL_RETURN_IF_ERROR(r.str(1, n.name, kMaxNodeNameBytes));
  SHOAL_RETURN_IF_ERROR(r.str(2, n.address, kMaxNodeAddressBytes));
  SHOAL_RETURN_IF_ERROR(r.uint(3, n.rpc_port));
  SHOAL_RETURN_IF_ERROR(r.uint(4, n.http_port));
  SHOAL_RETURN_IF_ERROR(r.uint(5, n.dns_port));
  SHOAL_RETURN_IF_ERROR(r.uint(6, n.cpu_mhz));
  SHOAL_RETURN_IF_ERROR(r.uint(7, n.memory_mb));
  wire::FieldReader attrs;
  SHOAL_RETURN_IF_ERROR(r.array(8, attrs, "attrs"));
  if (attrs.size() > kMaxNodeAttrs) {
    return Status::decode("node: at most 64 attributes, got " + std::to_string(attrs.size()));
  }
  for (size_t i = 0; i < attrs.size(); ++i) {
    wire::FieldReader kv;
    SHOAL_RETURN_IF_ERROR(attrs.array(i, kv, "attr"));
    std::string key;
    std::string value;
    SHOAL_RETURN_IF_ERROR(kv.str(0, key, kMaxNodeAttrBytes));
    SHOAL_RETURN_IF_ERROR(kv.str(1, value, kMaxNodeAttrBytes));
    if (!n.attrs.empty() && key <= n.attrs.rbegin()->first) {
      return Status::decode("node: attribute " + std::to_string(i) + " out of order or duplicated");
    }
    n.attrs.emplace_hint(n.attrs.end(), std::move(key), std::move(value));
  }
  SHOAL_RETURN_IF_ERROR(r.boolean(9, n.eligible));
  SHOAL_RETURN_IF_ERROR(r.boolean(10, n.drain));
  SHOAL_RETURN_IF_ERROR(r.boolean(11, n.alive));
  SHOAL_RETURN_IF_ERROR(r.u64(12, n.since_unix_ms));
  SHOAL_RETURN_IF_ERROR(r.str(13, n.role, kMaxNodeRoleBytes));
  Status st = validate_node(n);
  if (!st.is_ok()) return Status::decode(st.message());
  return Status::ok();
}

// Everything but the indexes (and, when `with_since` is false, since_unix_ms).
bool same_facts(const NodeRecord& a, const NodeRecord& b, bool with_since) {
  return a.id == b.id && a.name == b.name && a.address == b.address && a.rpc_port == b.rpc_port &&
         a.http_port == b.http_port && a.dns_port == b.dns_port && a.cpu_mhz == b.cpu_mhz &&
         a.memory_mb == b.memory_mb && a.attrs == b.attrs && a.eligible == b.eligible &&
         a.drain == b.drain && a.alive == b.alive &&
         (!with_since || a.since_unix_ms == b.since_unix_ms) && a.role == b.role;
}

}  // namespace

Status validate_node(const NodeRecord& n) {
  if (n.id.is_zero()) return Status::invalid_argument("node: the id is zero");
  if (n.name.empty()) return Status::invalid_argument("node: the name is empty");
  if (n.name.size() > kMaxNodeNameBytes) {
    return Status::too_large("node: a name is at most 63 bytes, got " +
                             std::to_string(n.name.size()));
  }
  if (n.address.size() > kMaxNodeAddressBytes) {
    return Status::too_large("node: an address is at most 64 bytes, got " +
                             std::to_string(n.address.size()));
  }
  if (n.attrs.size() > kMaxNodeAttrs) {
    return Status::too_large("node: at most 64 attributes, got " + std::to_string(n.attrs.size()));
  }
  for (const auto& [k, v] : n.attrs) {
    if (k.empty()) return Status::invalid_argument("node: an attribute key is empty");
    if (k.size() > kMaxNodeAttrBytes || v.size() > kMaxNodeAttrBytes) {
      return Status::too_large("node: attribute '" + k.substr(0, 32) +
                               "': keys and values are at most 256 bytes");
    }
  }
  if (n.role.size() > kMaxNodeRoleBytes) {
    return Status::too_large("node: a role is at most 32 bytes, got " +
                             std::to_string(n.role.size()));
  }
  return Status::ok();
}

std::vector<uint8_t> encode(const NodeUpsert& u) {
  return wire::encode_envelope(MsgType::kStateNodeUpsert, kNodeUpsertVersion,
                               [&](wire::Packer& p) { pack_record(p, u.node); });
}

Result<NodeUpsert> decode_node_upsert(std::span<const uint8_t> bytes) {
  wire::DecodeLimits lim;
  lim.max_bytes = 256 * 1024;
  lim.max_array = 1024;  // body fields (appended ones too) and attributes
  lim.max_map = 0;
  lim.max_str = kMaxNodeAttrBytes;
  lim.max_bin = NodeId::kBytes;
  lim.max_depth = 5;  // envelope, body, attrs, attr pair
  auto env = wire::decode_envelope(bytes, lim);
  if (!env) return env.status();
  if (env->type() != MsgType::kStateNodeUpsert) {
    return Status::decode("node_upsert: wrong envelope type");
  }
  if (env->version() == 0) return Status::decode("node_upsert: version 0");
  auto r = wire::FieldReader::open(env->body(), "node_upsert");
  if (!r) return r.status();
  NodeUpsert u;
  SHOAL_RETURN_IF_ERROR(read_record(*r, u.node));
  return u;
}

bool NodeRegistry::apply(uint64_t index, const NodeUpsert& u) {
  SHOAL_CHECK_MSG(index > index_, "nodes: entries applied out of order");
  if (!validate_node(u.node).is_ok()) return false;
  auto it = nodes_.find(u.node.id);
  if (it != nodes_.end()) {
    if (same_facts(it->second, u.node, /*with_since=*/true)) return false;
    const uint64_t created = it->second.create_index;
    it->second = u.node;
    it->second.create_index = created;
    it->second.modify_index = index;
  } else {
    NodeRecord rec = u.node;
    rec.create_index = index;
    rec.modify_index = index;
    nodes_.emplace(rec.id, std::move(rec));
  }
  index_ = index;
  return true;
}

const NodeRecord* NodeRegistry::find(const NodeId& id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

bool NodeRegistry::differs(const NodeRecord& observed) const {
  const NodeRecord* stored = find(observed.id);
  return stored == nullptr || !same_facts(*stored, observed, /*with_since=*/false);
}

void NodeRegistry::pack(wire::Packer& p) const {
  p.pack_array(2);
  p.pack_uint64(index_);
  p.pack_array(static_cast<uint32_t>(nodes_.size()));
  for (const auto& [id, n] : nodes_) {
    p.pack_array(3);
    pack_record(p, n);
    p.pack_uint64(n.create_index);
    p.pack_uint64(n.modify_index);
  }
}

Result<NodeRegistry> NodeRegistry::unpack(const msgpack::object& part) {
  auto r = wire::FieldReader::open(part, "nodes");
  if (!r) return r.status();
  NodeRegistry reg;
  SHOAL_RETURN_IF_ERROR(r->u64(0, reg.index_));
  wire::FieldReader list;
  SHOAL_RETURN_IF_ERROR(r->array(1, list, "records"));
  for (size_t i = 0; i < list.size(); ++i) {
    wire::FieldReader e;
    SHOAL_RETURN_IF_ERROR(list.array(i, e, "entry"));
    wire::FieldReader fields;
    SHOAL_RETURN_IF_ERROR(e.array(0, fields, "record"));
    NodeRecord n;
    SHOAL_RETURN_IF_ERROR(read_record(fields, n));
    SHOAL_RETURN_IF_ERROR(e.u64(1, n.create_index));
    SHOAL_RETURN_IF_ERROR(e.u64(2, n.modify_index));
    if ((!reg.nodes_.empty() && n.id <= reg.nodes_.rbegin()->first) || n.create_index == 0 ||
        n.create_index > n.modify_index || n.modify_index > reg.index_) {
      return Status::decode("nodes entry " + std::to_string(i) + ": inconsistent");
    }
    reg.nodes_.emplace_hint(reg.nodes_.end(), n.id, std::move(n));
  }
  return reg;
}

uint64_t NodeRegistry::hash() const {
  Fnv1a h;
  h.u64(index_);
  for (const auto& [id, n] : nodes_) {
    h.bytes(id.bytes().data(), id.bytes().size());
    h.str(n.name);
    h.str(n.address);
    h.u64(n.rpc_port);
    h.u64(n.http_port);
    h.u64(n.dns_port);
    h.u64(n.cpu_mhz);
    h.u64(n.memory_mb);
    h.u64(n.attrs.size());
    for (const auto& [k, v] : n.attrs) {
      h.str(k);
      h.str(v);
    }
    h.u64((n.eligible ? 1u : 0u) | (n.drain ? 2u : 0u) | (n.alive ? 4u : 0u));
    h.u64(n.since_unix_ms);
    h.str(n.role);
    h.u64(n.create_index);
    h.u64(n.modify_index);
  }
  return h.value();
}

}  // namespace shoal::scheduler
