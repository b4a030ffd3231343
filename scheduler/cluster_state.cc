#include "scheduler/cluster_state.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "core/fnv.h"
#include "core/msg_types.h"
#include "core/wire.h"

namespace shoal::scheduler {

namespace {

struct Header {
  uint16_t type = 0;
  uint8_t version = 0;
};

// Reads one msgpack unsigned integer (any width, or a non-negative signed
// one, as msgpack-c reads them) at bytes[i], advancing i.
std::optional<uint64_t> read_uint(std::span<const uint8_t> b, size_t& i) {
  if (i >= b.size()) return std::nullopt;
  const uint8_t tag = b[i];
  if (tag <= 0x7f) {
    ++i;
    return tag;
  }
  size_t width = 0;
  bool is_signed = false;
  switch (tag) {
    case 0xcc:
      width = 1;
      break;
    case 0xcd:
      width = 2;
      break;
    case 0xce:
      width = 4;
      break;
    case 0xcf:
      width = 8;
      break;
    case 0xd0:
      width = 1;
      is_signed = true;
      break;
    case 0xd1:
      width = 2;
      is_signed = true;
      break;
    case 0xd2:
      width = 4;
      is_signed = true;
      break;
    case 0xd3:
      width = 8;
      is_signed = true;
      break;
    default:
      return std::nullopt;
  }
  if (b.size() - i - 1 < width) return std::nullopt;
  uint64_t v = 0;
  for (size_t k = 0; k < width; ++k) v = (v << 8) | b[i + 1 + k];
  if (is_signed && (b[i + 1] & 0x80) != 0) return std::nullopt;  // negative
  i += 1 + width;
  return v;
}

// The type and version of an envelope [type, version, body, ...], read from
// its first bytes only: whether an entry is of a type this build knows must
// not depend on how the body of an unknown type is laid out.
std::optional<Header> peek_header(std::span<const uint8_t> b) {
  if (b.empty()) return std::nullopt;
  size_t i = 0;
  uint64_t n = 0;
  const uint8_t tag = b[0];
  if (tag >= 0x90 && tag <= 0x9f) {
    n = tag & 0x0f;
    i = 1;
  } else if (tag == 0xdc || tag == 0xdd) {
    const size_t width = tag == 0xdc ? 2 : 4;
    if (b.size() < 1 + width) return std::nullopt;
    for (size_t k = 0; k < width; ++k) n = (n << 8) | b[1 + k];
    i = 1 + width;
  } else {
    return std::nullopt;
  }
  if (n < 3) return std::nullopt;
  auto type = read_uint(b, i);
  if (!type || *type > std::numeric_limits<uint16_t>::max()) return std::nullopt;
  auto version = read_uint(b, i);
  if (!version || *version > std::numeric_limits<uint8_t>::max()) return std::nullopt;
  return Header{static_cast<uint16_t>(*type), static_cast<uint8_t>(*version)};
}

// The image inside a restore command, restored (and so fully validated).
Result<ClusterState> decode_restore(std::span<const uint8_t> data) {
  wire::DecodeLimits lim;
  lim.max_bytes = kMaxRestoreBytes + 64;
  lim.max_bin = kMaxRestoreBytes;
  lim.max_array = 4;
  lim.max_depth = 3;
  auto env = wire::decode_envelope(data, lim);
  if (!env) return env.status();
  auto r = wire::FieldReader::open(env->body(), "state_restore");
  if (!r) return r.status();
  std::vector<uint8_t> image;
  SHOAL_RETURN_IF_ERROR(r->bin(0, image, kMaxRestoreBytes));
  return ClusterState::restore(image);
}

constexpr uint16_t kStateFirst = 3000;
constexpr uint16_t kStateLast = 3999;

// What an entry is to this build, from its envelope header alone.
enum class EntryClass : uint8_t {
  kInvalid,     // no envelope, or version 0
  kKvCommand,   // kStateKvCommand of a version this build knows
  kNodeUpsert,  // kStateNodeUpsert, likewise
  kRestore,     // kStateRestore, likewise
  kNewer,       // a state-machine type or version from a newer build
  kForeign,     // not a state-machine command (another subsystem's, a snapshot)
};

EntryClass classify(std::span<const uint8_t> data) {
  auto h = peek_header(data);
  if (!h || h->version == 0) return EntryClass::kInvalid;
  const auto is = [&](MsgType t) { return h->type == static_cast<uint16_t>(t); };
  if (is(MsgType::kStateKvCommand) && h->version <= kKvCommandVersion) {
    return EntryClass::kKvCommand;
  }
  if (is(MsgType::kStateNodeUpsert) && h->version <= kNodeUpsertVersion) {
    return EntryClass::kNodeUpsert;
  }
  if (is(MsgType::kStateRestore) && h->version <= 1) return EntryClass::kRestore;
  if (is(MsgType::kStateKvSnapshot) || is(MsgType::kStateSnapshot)) return EntryClass::kForeign;
  if (h->type >= kStateFirst && h->type <= kStateLast) return EntryClass::kNewer;
  return EntryClass::kForeign;
}

}  // namespace

uint32_t schema_needed(std::span<const uint8_t> entry) {
  // Schema 1: every class below. A newer build adds its types here with the
  // schema that introduced them.
  return classify(entry) == EntryClass::kNewer ? kStateSchema + 1 : 1;
}

std::vector<uint8_t> encode_restore(std::span<const uint8_t> image) {
  return wire::encode_envelope(MsgType::kStateRestore, 1, [&](wire::Packer& p) {
    p.pack_array(1);
    p.pack_bin(static_cast<uint32_t>(image.size()));
    p.pack_bin_body(reinterpret_cast<const char*>(image.data()),
                    static_cast<uint32_t>(image.size()));
  });
}

ApplyResult ClusterState::apply(uint64_t index, std::span<const uint8_t> data) {
  using Kind = ApplyResult::Kind;
  SHOAL_CHECK_MSG(index > applied_, "state: entries applied out of order");
  // Stalled: only the stalled entry itself is looked at again (by a newer
  // build that restored this state); nothing after it is ever applied first.
  if (stalled_at_ != 0 && index != stalled_at_) return {Kind::kUnknownType};

  ApplyResult res;
  switch (data.empty() ? EntryClass::kForeign : classify(data)) {
    case EntryClass::kKvCommand:
      res.kv = kv_.apply_bytes(index, data);
      res.kind = res.kv == KvOutcome::kInvalid ? Kind::kInvalid : Kind::kKv;
      break;
    case EntryClass::kNodeUpsert:
      if (auto u = decode_node_upsert(data); u.is_ok()) {
        res.kind = Kind::kNode;
        res.node_changed = nodes_.apply(index, *u);
      } else {
        res.kind = Kind::kInvalid;
      }
      break;
    case EntryClass::kRestore:
      if (auto restored = decode_restore(data); restored) {
        kv_ = std::move(restored->kv_);
        nodes_ = std::move(restored->nodes_);
        kv_.replaced_at(index);
        res.kind = Kind::kRestored;
      } else {
        res.kind = Kind::kInvalid;
      }
      break;
    case EntryClass::kNewer:
      // A newer version of a known command, or a state-machine type from a
      // newer build: stop here (never skip it).
      stalled_at_ = index;
      return {Kind::kUnknownType};
    case EntryClass::kInvalid:
    case EntryClass::kForeign:
      // Malformed, or not a state-machine command at all (another
      // subsystem's type, or a snapshot envelope): no build will ever apply
      // it. An empty entry applies nothing.
      res.kind = data.empty() ? Kind::kNone : Kind::kInvalid;
      break;
  }
  stalled_at_ = 0;
  applied_ = index;
  return res;
}

void ClusterState::skip(uint64_t index) {
  SHOAL_CHECK_MSG(index > applied_, "state: entries applied out of order");
  if (stalled_at_ != 0) return;
  applied_ = index;
}

std::vector<uint8_t> ClusterState::snapshot() const {
  const std::vector<uint8_t> kv = kv_.snapshot();
  return wire::encode_envelope(
      MsgType::kStateSnapshot, kClusterSnapshotVersion, [&](wire::Packer& p) {
        p.pack_array(4);
        p.pack_uint64(applied_);
        p.pack_bin(static_cast<uint32_t>(kv.size()));
        p.pack_bin_body(reinterpret_cast<const char*>(kv.data()), static_cast<uint32_t>(kv.size()));
        nodes_.pack(p);
        p.pack_uint64(stalled_at_);
      });
}

Result<ClusterState> ClusterState::restore(std::span<const uint8_t> bytes) {
  wire::DecodeLimits lim;
  lim.max_bytes = std::min<size_t>(bytes.size(), std::numeric_limits<uint32_t>::max());
  lim.max_array = 1u << 26;  // node records; also bounded by the bytes present
  lim.max_map = 0;
  lim.max_str = kMaxNodeAttrBytes;
  lim.max_bin = static_cast<uint32_t>(lim.max_bytes);  // the KV snapshot
  lim.max_depth = 8;  // envelope, body, nodes, records, entry, record, attrs, attr
  auto env = wire::decode_envelope(bytes, lim);
  if (!env) return env.status();
  if (env->type() != MsgType::kStateSnapshot) {
    return Status::decode("state_snapshot: wrong envelope type");
  }
  if (env->version() != kClusterSnapshotVersion) {
    return Status::decode("state_snapshot: version " + std::to_string(env->version()) +
                          " is not known to this build");
  }
  auto r = wire::FieldReader::open(env->body(), "state_snapshot");
  if (!r) return r.status();
  ClusterState s;
  SHOAL_RETURN_IF_ERROR(r->u64(0, s.applied_));
  std::vector<uint8_t> kv;
  SHOAL_RETURN_IF_ERROR(r->bin(1, kv, lim.max_bin));
  auto kv_state = KvState::restore(kv);
  if (!kv_state) return Status::decode("state_snapshot kv: " + kv_state.status().message());
  s.kv_ = std::move(*kv_state);
  if (!r->has(2)) return Status::decode("state_snapshot field 2: missing");
  auto nodes = NodeRegistry::unpack(r->at(2));
  if (!nodes) return Status::decode("state_snapshot: " + nodes.status().message());
  s.nodes_ = std::move(*nodes);
  SHOAL_RETURN_IF_ERROR(r->u64(3, s.stalled_at_));
  if (s.kv_.applied() > s.applied_ || s.nodes_.index() > s.applied_ ||
      (s.stalled_at_ != 0 && s.stalled_at_ <= s.applied_)) {
    return Status::decode("state_snapshot: indexes inconsistent");
  }
  return s;
}

uint64_t ClusterState::hash() const {
  Fnv1a h;
  h.u64(kv_.hash());
  h.u64(nodes_.hash());
  return h.value();
}

}  // namespace shoal::scheduler
