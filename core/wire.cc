#include "core/wire.h"

#include <algorithm>

namespace shoal {

const char* msg_type_name(MsgType type) {
  switch (type) {
    case MsgType::kInvalid:
      return "invalid";
    case MsgType::kTestEcho:
      return "test_echo";
    case MsgType::kTestPing:
      return "test_ping";
    case MsgType::kGossipCompound:
      return "gossip_compound";
    case MsgType::kGossipPing:
      return "gossip_ping";
    case MsgType::kGossipIndirectPing:
      return "gossip_indirect_ping";
    case MsgType::kGossipAck:
      return "gossip_ack";
    case MsgType::kGossipNack:
      return "gossip_nack";
    case MsgType::kGossipAlive:
      return "gossip_alive";
    case MsgType::kGossipSuspect:
      return "gossip_suspect";
    case MsgType::kGossipDead:
      return "gossip_dead";
    case MsgType::kGossipLeft:
      return "gossip_left";
    case MsgType::kGossipPushPull:
      return "gossip_push_pull";
    case MsgType::kGossipQuery:
      return "gossip_query";
    case MsgType::kGossipQueryResponse:
      return "gossip_query_response";
    case MsgType::kGossipMemberList:
      return "gossip_member_list";
    case MsgType::kRaftMessage:
      return "raft_message";
    case MsgType::kRaftEntry:
      return "raft_entry";
    case MsgType::kRaftHardState:
      return "raft_hard_state";
    case MsgType::kRaftConfState:
      return "raft_conf_state";
    case MsgType::kRaftSnapshotMeta:
      return "raft_snapshot_meta";
    case MsgType::kRpcHello:
      return "rpc_hello";
    case MsgType::kRpcWelcome:
      return "rpc_welcome";
    case MsgType::kRpcConfirm:
      return "rpc_confirm";
    case MsgType::kRpcForwardRequest:
      return "rpc_forward_request";
    case MsgType::kRpcForwardResponse:
      return "rpc_forward_response";
    case MsgType::kRpcFollowRequest:
      return "rpc_follow_request";
    case MsgType::kRpcFollowResponse:
      return "rpc_follow_response";
    case MsgType::kStateKvCommand:
      return "state_kv_command";
    case MsgType::kStateKvSnapshot:
      return "state_kv_snapshot";
    case MsgType::kStateNodeUpsert:
      return "state_node_upsert";
    case MsgType::kStateSnapshot:
      return "state_snapshot";
    case MsgType::kStateRestore:
      return "state_restore";
  }
  return "unknown";
}

}  // namespace shoal

namespace shoal::wire {
namespace {

// Structural checks for msgpack::parse, run before anything is allocated.
// `outstanding` counts elements that containers declared but the parser has
// not reached yet; each needs at least one byte, so
//   bytes already known consumed + outstanding <= total size
// must hold at every container and string header, or the header lies.
class CheckingVisitor : public msgpack::null_visitor {
 public:
  CheckingVisitor(size_t total, const DecodeLimits& limits) : total_(total), limits_(limits) {}

  bool visit_nil() { return value(); }
  bool visit_boolean(bool) { return value(); }
  bool visit_positive_integer(uint64_t) { return value(); }
  bool visit_negative_integer(int64_t) { return value(); }
  bool visit_float32(float) { return value(); }
  bool visit_float64(double) { return value(); }
  bool visit_str(const char*, uint32_t size) { return sized("string", size, limits_.max_str); }
  bool visit_bin(const char*, uint32_t size) { return sized("binary", size, limits_.max_bin); }
  bool visit_ext(const char*, uint32_t size) { return sized("ext", size, limits_.max_ext); }

  bool start_array(uint32_t n) { return container("array", n, n, limits_.max_array); }
  bool end_array() { return leave(); }
  bool start_map(uint32_t n) {
    return container("map", n, static_cast<uint64_t>(n) * 2, limits_.max_map);
  }
  bool end_map() { return leave(); }

  void parse_error(size_t, size_t off) { fail("malformed msgpack at byte " + std::to_string(off)); }
  void insufficient_bytes(size_t, size_t) { fail("truncated msgpack"); }

  const std::string& error() const { return error_; }

 private:
  bool value() {
    if (outstanding_ == 0) return fail("more values than declared");
    --outstanding_;
    ++consumed_;
    return fits();
  }
  bool sized(const char* kind, uint32_t size, uint32_t limit) {
    if (size > limit) {
      return fail(std::string(kind) + " of " + std::to_string(size) +
                  " bytes exceeds the limit of " + std::to_string(limit));
    }
    if (!value()) return false;
    consumed_ += size;
    return fits();
  }
  bool container(const char* kind, uint32_t n, uint64_t elements, uint32_t limit) {
    if (n > limit) {
      return fail(std::string(kind) + " of " + std::to_string(n) +
                  " entries exceeds the limit of " + std::to_string(limit));
    }
    if (++depth_ > limits_.max_depth) {
      return fail("nesting deeper than " + std::to_string(limits_.max_depth));
    }
    if (!value()) return false;
    outstanding_ += elements;
    if (consumed_ + outstanding_ > total_) {
      return fail(std::string(kind) + " declares " + std::to_string(n) +
                  " entries, more than the bytes that remain");
    }
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  bool fits() {
    if (consumed_ + outstanding_ > total_) {
      return fail("declared sizes exceed the " + std::to_string(total_) + " bytes received");
    }
    return true;
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  size_t total_;
  const DecodeLimits& limits_;
  uint64_t outstanding_ = 1;  // the root object
  uint64_t consumed_ = 0;
  uint32_t depth_ = 0;
  std::string error_;
};

}  // namespace

DecodeLimits DecodeLimits::packet() {
  DecodeLimits l;
  l.max_bytes = 64 * 1024;
  l.max_array = 4096;
  l.max_map = 1024;
  l.max_str = 4096;
  l.max_bin = 64 * 1024;
  l.max_depth = 12;
  return l;
}

Status validate(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Status::decode("empty message");
  if (bytes.size() > limits.max_bytes) {
    return Status::too_large("message of " + std::to_string(bytes.size()) +
                             " bytes exceeds the limit of " + std::to_string(limits.max_bytes));
  }
  CheckingVisitor v(bytes.size(), limits);
  size_t off = 0;
  bool ok = false;
  try {
    ok = msgpack::parse(reinterpret_cast<const char*>(bytes.data()), bytes.size(), off, v);
  } catch (const std::exception& e) {
    return Status::decode(std::string("msgpack: ") + e.what());
  }
  if (!ok) return Status::decode(v.error().empty() ? "malformed msgpack" : v.error());
  if (off != bytes.size()) {
    return Status::decode(std::to_string(bytes.size() - off) + " trailing bytes after the message");
  }
  return Status::ok();
}

Result<msgpack::object_handle> decode(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  SHOAL_RETURN_IF_ERROR(validate(bytes, limits));
  try {
    size_t off = 0;
    const msgpack::unpack_limit limit(limits.max_array, limits.max_map, limits.max_str,
                                      limits.max_bin, limits.max_ext, limits.max_depth);
    // No referencing: strings and binaries are copied into the handle's zone,
    // so the result does not point into the caller's buffer.
    auto never_reference = [](msgpack::type::object_type, size_t, void*) { return false; };
    return msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), off,
                           never_reference, nullptr, limit);
  } catch (const std::exception& e) {
    return Status::decode(std::string("msgpack: ") + e.what());
  }
}

Result<Envelope> decode_envelope(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  auto handle = decode(bytes, limits);
  if (!handle) return handle.status();
  const msgpack::object& root = handle->get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size < 3) {
    return Status::decode("envelope must be an array [type, version, body]");
  }
  const msgpack::object* items = root.via.array.ptr;
  if (items[0].type != msgpack::type::POSITIVE_INTEGER || items[0].via.u64 > 0xffff) {
    return Status::decode("envelope type must be a uint16");
  }
  if (items[1].type != msgpack::type::POSITIVE_INTEGER || items[1].via.u64 > 0xff) {
    return Status::decode("envelope version must be a uint8");
  }
  if (items[2].type != msgpack::type::ARRAY) {
    return Status::decode("envelope body must be an array");
  }
  Envelope env;
  env.type_ = static_cast<MsgType>(items[0].via.u64);
  env.version_ = static_cast<uint8_t>(items[1].via.u64);
  env.body_ = &items[2];
  env.handle_ = std::move(*handle);
  return env;
}

void pack_node_id(Packer& p, const NodeId& id) {
  p.pack_bin(NodeId::kBytes);
  p.pack_bin_body(reinterpret_cast<const char*>(id.bytes().data()), NodeId::kBytes);
}

Result<FieldReader> FieldReader::open(const msgpack::object& array, std::string_view what) {
  if (array.type != msgpack::type::ARRAY) {
    return Status::decode(std::string(what) + ": expected an array of fields");
  }
  FieldReader r;
  r.what_ = std::string(what);
  r.items_ = array.via.array.ptr;
  r.size_ = array.via.array.size;
  return r;
}

Status FieldReader::missing_or_type(size_t i, const char* expected) const {
  if (!has(i)) {
    return Status::decode(what_ + " field " + std::to_string(i) + ": missing (" +
                          std::to_string(size_) + " fields)");
  }
  return Status::decode(what_ + " field " + std::to_string(i) + ": expected " + expected);
}

Status FieldReader::u64(size_t i, uint64_t& out, uint64_t max) const {
  if (!has(i) || items_[i].type != msgpack::type::POSITIVE_INTEGER || items_[i].via.u64 > max) {
    return missing_or_type(i, ("an unsigned integer <= " + std::to_string(max)).c_str());
  }
  out = items_[i].via.u64;
  return Status::ok();
}

Status FieldReader::i64(size_t i, int64_t& out) const {
  if (has(i) && items_[i].type == msgpack::type::NEGATIVE_INTEGER) {
    out = items_[i].via.i64;
    return Status::ok();
  }
  if (has(i) && items_[i].type == msgpack::type::POSITIVE_INTEGER &&
      items_[i].via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    out = static_cast<int64_t>(items_[i].via.u64);
    return Status::ok();
  }
  return missing_or_type(i, "a signed 64-bit integer");
}

Status FieldReader::boolean(size_t i, bool& out) const {
  if (!has(i) || items_[i].type != msgpack::type::BOOLEAN) return missing_or_type(i, "a boolean");
  out = items_[i].via.boolean;
  return Status::ok();
}

Status FieldReader::str(size_t i, std::string& out, size_t max_len) const {
  if (!has(i) || items_[i].type != msgpack::type::STR || items_[i].via.str.size > max_len) {
    return missing_or_type(i,
                           ("a string of at most " + std::to_string(max_len) + " bytes").c_str());
  }
  out.assign(items_[i].via.str.ptr, items_[i].via.str.size);
  return Status::ok();
}

Status FieldReader::bin(size_t i, std::vector<uint8_t>& out, size_t max_len) const {
  if (!has(i) || items_[i].type != msgpack::type::BIN || items_[i].via.bin.size > max_len) {
    return missing_or_type(i,
                           ("a binary of at most " + std::to_string(max_len) + " bytes").c_str());
  }
  const auto* p = reinterpret_cast<const uint8_t*>(items_[i].via.bin.ptr);
  out.assign(p, p + items_[i].via.bin.size);
  return Status::ok();
}

Status FieldReader::node_id(size_t i, NodeId& out) const {
  if (!has(i) || items_[i].type != msgpack::type::BIN || items_[i].via.bin.size != NodeId::kBytes) {
    return missing_or_type(i, "a 16-byte node id");
  }
  NodeId::Bytes b;
  std::copy_n(reinterpret_cast<const uint8_t*>(items_[i].via.bin.ptr), NodeId::kBytes, b.begin());
  out = NodeId(b);
  return Status::ok();
}

Status FieldReader::array(size_t i, FieldReader& out, std::string_view what) const {
  if (!has(i) || items_[i].type != msgpack::type::ARRAY) return missing_or_type(i, "an array");
  auto r = open(items_[i], what_ + "." + std::string(what));
  if (!r) return r.status();
  out = std::move(*r);
  return Status::ok();
}

}  // namespace shoal::wire
