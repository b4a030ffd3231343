// The gossip wire format. Every message is an envelope from core/wire.h,
// [type, version, body], with a positional body; decoders ignore trailing
// fields they do not know and bound every string, list and count.
//
// UDP: one packet carries one envelope, kGossipCompound, whose body is
//   [parts: [envelope, envelope, ...]]
// so a probe, an ack or a gossip round piggybacks as many queued updates as
// fit in Config::max_packet_bytes. A receiver decodes every part before it
// applies any, so a packet with one bad part changes nothing. Part types it
// does not know (a newer sender) are skipped.
//
// Bodies (field order is the wire order; NodeIds are 16-byte bins):
//   ping            [seq u32, target id, source id]
//   indirect_ping   [seq u32, target id, target ip, target port, source id,
//                    nack bool, nack_after_ms u32]
//   ack / nack      [seq u32, source id]
//   alive           [incarnation u64, id, meta]
//   suspect / dead  [incarnation u64, id, from id]
//   left            [incarnation u64, id]
//   query           [id u64, origin id, origin ip, origin port, name str,
//                    payload bin, timeout_ms u32]
//   query_response  [id u64, origin id, responder id, payload bin]
//   push_pull       [join bool, sender id, [member, ...]]   (streams only)
//   member_list     [[member, ...]]                         (disk only)
// where
//   meta    = [name, ip, port, rpc_port, http_port, dns_port, {attr: value},
//              [cpu_mhz, memory_mb], [tag, ...], cluster_id, role,
//              protocol_min, protocol_max]
//   member  = [id, incarnation u64, status u8 (0 alive .. 3 left), meta]
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "core/msg_types.h"
#include "core/status.h"
#include "core/wire.h"
#include "gossip/types.h"

namespace shoal::gossip::codec {

using Bytes = std::vector<uint8_t>;

// Field bounds, checked by every decoder before anything is kept.
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxIpBytes = 64;
inline constexpr size_t kMaxAttrs = 64;
inline constexpr size_t kMaxAttrKeyBytes = 128;
inline constexpr size_t kMaxAttrValueBytes = 1024;
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxTagBytes = 128;
inline constexpr size_t kMaxClusterIdBytes = 128;
inline constexpr size_t kMaxRoleBytes = 32;
inline constexpr size_t kMaxQueryNameBytes = 128;
inline constexpr size_t kMaxQueryPayloadBytes = 64 * 1024;
// Encoded metadata must fit in one alive message inside one UDP packet.
inline constexpr size_t kMaxMetaBytes = 1024;
// Members in one push-pull or persisted list. A header claiming more is
// rejected before anything is allocated.
inline constexpr size_t kMaxMembers = 65536;
// A whole push-pull frame or persisted list.
inline constexpr size_t kMaxStreamBytes = 64u << 20;

struct Ping {
  uint32_t seq = 0;
  NodeId target;
  NodeId source;
};
struct IndirectPing {
  uint32_t seq = 0;
  NodeId target;
  Address target_addr;
  NodeId source;
  bool nack = false;
  uint32_t nack_after_ms = 0;
};
struct Ack {
  uint32_t seq = 0;
  NodeId source;
};
struct Nack {
  uint32_t seq = 0;
  NodeId source;
};
struct Alive {
  uint64_t incarnation = 0;
  NodeId id;
  NodeMeta meta;
};

// Metadata inside a decoded frame, validated but still in msgpack form.
// Most alive messages a node receives repeat what it already knows, so the
// NodeMeta (strings, a map) is only built for news. Points into the frame's
// zone: valid while the DecodedPacket / PushPullIn lives.
class RawMeta {
 public:
  RawMeta() = default;
  explicit RawMeta(const msgpack::object* o) : o_(o) {}
  // Cannot fail: the frame's decoder validated it.
  NodeMeta decode() const;
  bool empty() const { return o_ == nullptr; }

 private:
  const msgpack::object* o_ = nullptr;
};

// A decoded alive message.
struct AliveIn {
  uint64_t incarnation = 0;
  NodeId id;
  RawMeta meta;
};
struct Suspect {
  uint64_t incarnation = 0;
  NodeId id;
  NodeId from;
};
struct Dead {
  uint64_t incarnation = 0;
  NodeId id;
  NodeId from;
};
struct Left {
  uint64_t incarnation = 0;
  NodeId id;
};
struct Query {
  uint64_t id = 0;
  NodeId origin;
  Address origin_addr;
  std::string name;
  Bytes payload;
  uint32_t timeout_ms = 0;
};
struct QueryResponse {
  uint64_t id = 0;
  NodeId origin;
  NodeId responder;
  Bytes payload;
};

// One part of a UDP packet.
using Message =
    std::variant<Ping, IndirectPing, Ack, Nack, AliveIn, Suspect, Dead, Left, Query, QueryResponse>;

// A decoded UDP payload: the parts, and the envelope whose zone the alive
// parts' metadata points into.
struct DecodedPacket {
  wire::Envelope env;
  std::vector<Message> messages;
};

// A member as the push-pull and the persisted list carry it.
struct MemberState {
  NodeId id;
  uint64_t incarnation = 0;
  MemberStatus status = MemberStatus::kAlive;
  NodeMeta meta;
};
// The same, pointing at metadata owned elsewhere (encoding without copies).
struct MemberView {
  NodeId id;
  uint64_t incarnation = 0;
  MemberStatus status = MemberStatus::kAlive;
  const NodeMeta* meta = nullptr;
};
// A member in a decoded push-pull (metadata still raw).
struct MemberIn {
  NodeId id;
  uint64_t incarnation = 0;
  MemberStatus status = MemberStatus::kAlive;
  RawMeta meta;
};
struct PushPullIn {
  wire::Envelope env;  // owns the zone the members' metadata points into
  bool join = false;
  NodeId sender;
  std::vector<MemberIn> members;
};

// ---- encoding: each returns one whole envelope ----
Bytes encode(const Ping& m);
Bytes encode(const IndirectPing& m);
Bytes encode(const Ack& m);
Bytes encode(const Nack& m);
Bytes encode(const Alive& m);
Bytes encode_alive(uint64_t incarnation, const NodeId& id, const NodeMeta& meta);
Bytes encode(const Suspect& m);
Bytes encode(const Dead& m);
Bytes encode(const Left& m);
Bytes encode(const Query& m);
Bytes encode(const QueryResponse& m);
Bytes encode_push_pull(bool join, const NodeId& sender, const std::vector<MemberView>& members);
Bytes encode_member_list(const std::vector<MemberView>& members);
// Size of `meta` inside an alive message.
size_t encoded_meta_size(const NodeMeta& meta);

// ---- decoding ----
// A UDP payload: a compound (or, from a future sender, a bare part).
Result<DecodedPacket> decode_packet(std::span<const uint8_t> bytes);
// One bare ack envelope (the TCP fallback probe's reply).
Result<Ack> decode_ack(std::span<const uint8_t> bytes);
Result<PushPullIn> decode_push_pull(std::span<const uint8_t> bytes);
Result<std::vector<MemberState>> decode_member_list(std::span<const uint8_t> bytes);
// A request frame read from an accepted stream: a push-pull (sync or join)
// or a ping (the TCP fallback probe).
using StreamRequestMsg = std::variant<PushPullIn, Ping>;
Result<StreamRequestMsg> decode_stream_request(std::span<const uint8_t> bytes);

// Decode limits for UDP packets and for streams / persisted lists.
wire::DecodeLimits packet_limits();
wire::DecodeLimits stream_limits();

// ---- compound packets ----
// Packs parts into one compound envelope without exceeding a byte budget.
// Sizes are exact: finish().size() == size() <= budget.
class PacketBuilder {
 public:
  explicit PacketBuilder(size_t budget) : budget_(budget) {}
  // Whether `part` (one envelope) still fits.
  bool fits(size_t part_size) const;
  // Adds the part if it fits; returns whether it did.
  bool add(std::span<const uint8_t> part);
  // Adds the part even past the budget (a primary message must go out).
  void force(std::span<const uint8_t> part);
  size_t size() const;
  size_t remaining() const { return budget_ > size() ? budget_ - size() : 0; }
  size_t parts() const { return parts_; }
  bool empty() const { return parts_ == 0; }
  Bytes finish() const;

 private:
  size_t budget_;
  size_t parts_ = 0;
  Bytes body_;  // the parts, back to back
};

// msgpack's header size for an array of n elements (1, 3 or 5 bytes).
size_t array_header_size(size_t n);

}  // namespace shoal::gossip::codec
