// Wire codec helpers following DESIGN.md §8's conventions.
//
// Every message is a msgpack envelope, a 3-element array
//
//   [type: uint16 (MsgType), version: uint8, body: array]
//
// whose body is a positional array: new fields are only ever appended, and
// decoders ignore trailing fields they do not know.
//
// Decoding bytes from the network or disk is two passes over msgpack-c:
//  1. validate(): msgpack::parse with a checking visitor that refuses, before
//     anything is allocated, any array/map/str/bin/ext header above the limits,
//     any count larger than the bytes that remain (a "2^32 elements" header in
//     a 20-byte packet), nesting deeper than max_depth, and trailing bytes;
//  2. msgpack::unpack with msgpack::unpack_limit into a zone.
// msgpack-c's exceptions are caught here and become a Status, so callers of
// decode()/decode_envelope() never see an exception.
#pragma once

#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/msg_types.h"
#include "core/status.h"

namespace shoal::wire {

inline constexpr uint8_t kProtocolVersion = 1;

struct DecodeLimits {
  size_t max_bytes = 1 << 20;    // the whole buffer
  uint32_t max_array = 65536;    // elements in one array
  uint32_t max_map = 4096;       // pairs in one map
  uint32_t max_str = 64 * 1024;  // bytes in one string
  uint32_t max_bin = 1 << 20;    // bytes in one binary
  uint32_t max_ext = 0;          // Shoal's wire never uses ext types
  uint32_t max_depth = 16;       // nested containers

  // For one UDP packet's plaintext.
  static DecodeLimits packet();
};

// Checks the structure of exactly one msgpack object filling `bytes`.
Status validate(std::span<const uint8_t> bytes, const DecodeLimits& limits);
// validate(), then unpack into a zone owned by the returned handle.
Result<msgpack::object_handle> decode(std::span<const uint8_t> bytes, const DecodeLimits& limits);

// A decoded envelope. Owns the zone that `body` points into.
class Envelope {
 public:
  MsgType type() const { return type_; }
  uint8_t version() const { return version_; }
  const msgpack::object& body() const { return *body_; }

 private:
  friend Result<Envelope> decode_envelope(std::span<const uint8_t>, const DecodeLimits&);
  msgpack::object_handle handle_;
  MsgType type_ = MsgType::kInvalid;
  uint8_t version_ = 0;
  const msgpack::object* body_ = nullptr;
};

// Decodes and checks the envelope shape; the body is left for the type's own
// decoder (usually through FieldReader). Unknown types are not an error here:
// the caller decides (count and drop, or report "upgrade required").
Result<Envelope> decode_envelope(std::span<const uint8_t> bytes, const DecodeLimits& limits);

using Packer = msgpack::packer<msgpack::sbuffer>;

// Encodes [type, version, body]; `write_body` must pack exactly one array.
template <class F>
std::vector<uint8_t> encode_envelope(MsgType type, uint8_t version, F&& write_body) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(3);
  p.pack_uint16(static_cast<uint16_t>(type));
  p.pack_uint8(version);
  write_body(p);
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()),
                              reinterpret_cast<const uint8_t*>(buf.data()) + buf.size());
}

// Packs a NodeId as a 16-byte bin.
void pack_node_id(Packer& p, const NodeId& id);

// Reads the positional fields of one message body. Every accessor checks the
// msgpack type and range and returns a Status naming the message and field
// ("test_echo field 2: expected a string of at most 64 bytes"); the `_or`
// forms give a default for a trailing field an older sender did not send.
class FieldReader {
 public:
  static Result<FieldReader> open(const msgpack::object& array, std::string_view what);

  size_t size() const { return size_; }
  bool has(size_t i) const { return i < size_; }

  Status u64(size_t i, uint64_t& out, uint64_t max = std::numeric_limits<uint64_t>::max()) const;
  Status i64(size_t i, int64_t& out) const;
  Status boolean(size_t i, bool& out) const;
  Status str(size_t i, std::string& out, size_t max_len) const;
  Status bin(size_t i, std::vector<uint8_t>& out, size_t max_len) const;
  Status node_id(size_t i, NodeId& out) const;
  // A nested positional array (a sub-record or a list).
  Status array(size_t i, FieldReader& out, std::string_view what) const;
  // The raw element, for lists of sub-records.
  const msgpack::object& at(size_t i) const { return items_[i]; }

  template <class UInt>
  Status uint(size_t i, UInt& out) const {
    uint64_t v = 0;
    SHOAL_RETURN_IF_ERROR(u64(i, v, std::numeric_limits<UInt>::max()));
    out = static_cast<UInt>(v);
    return Status::ok();
  }
  template <class UInt>
  Status uint_or(size_t i, UInt& out, UInt dflt) const {
    if (!has(i)) {
      out = dflt;
      return Status::ok();
    }
    return uint(i, out);
  }

 private:
  Status missing_or_type(size_t i, const char* expected) const;
  std::string what_;
  const msgpack::object* items_ = nullptr;
  size_t size_ = 0;
};

}  // namespace shoal::wire
