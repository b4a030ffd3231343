#include "raft/codec.h"

#include <algorithm>
#include <exception>
#include <string>
#include <string_view>

// Bodies (version 1). Fields are only ever appended; decoders ignore fields
// past the ones listed here, so an older node can read a newer node's values.
//
//   raft_entry          [term, index, type, data]
//   raft_hard_state     [term, vote, commit]
//   raft_conf_state     [[voter, ...], [learner, ...]]
//   raft_snapshot_meta  [index, term, conf_state]
//   raft_message        see MessageField below; `entries` is a list of entry
//                       bodies and `snapshot` a snapshot_meta body, nested as
//                       plain arrays rather than envelopes, since their type
//                       is implied by the position.
//
// Terms, indexes and counters are unsigned integers, node ids 16-byte bins,
// data bins. The message sends every field for every kind: a field a kind
// does not use costs a few bytes, and a message then always decodes to exactly
// what was encoded.

namespace shoal::raft::codec {

namespace {

using wire::FieldReader;
using wire::Packer;

constexpr uint8_t kVersion = wire::kProtocolVersion;

enum MessageField : size_t {
  kKind = 0,
  kFrom,
  kTo,
  kTerm,
  kLogTerm,
  kIndex,
  kEntries,
  kCommit,
  kReject,
  kRejectHint,
  kConflictTerm,
  kTransfer,
  kContext,
  kSnapshot,
  kOffset,
  kData,
  kDone,
  kMessageFields,  // the count, not a field
};

constexpr uint8_t kMaxMessageKind = static_cast<uint8_t>(MessageKind::kReadIndexResp);
constexpr uint8_t kMaxEntryType = static_cast<uint8_t>(EntryType::kNoop);

// ---------------------------------------------------------------- packing

void pack_bin(Packer& p, const std::vector<uint8_t>& b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

void pack_ids(Packer& p, const std::vector<NodeId>& ids) {
  p.pack_array(static_cast<uint32_t>(ids.size()));
  for (const NodeId& id : ids) wire::pack_node_id(p, id);
}

void pack_entry(Packer& p, const Entry& e) {
  p.pack_array(4);
  p.pack_uint64(e.term.value());
  p.pack_uint64(e.index.value());
  p.pack_uint8(static_cast<uint8_t>(e.type));
  pack_bin(p, e.data);
}

void pack_hard_state(Packer& p, const HardState& hs) {
  p.pack_array(3);
  p.pack_uint64(hs.term.value());
  wire::pack_node_id(p, hs.vote);
  p.pack_uint64(hs.commit.value());
}

void pack_conf_state(Packer& p, const ConfState& cs) {
  p.pack_array(2);
  pack_ids(p, cs.voters);
  pack_ids(p, cs.learners);
}

void pack_snapshot_meta(Packer& p, const SnapshotMeta& meta) {
  p.pack_array(3);
  p.pack_uint64(meta.index.value());
  p.pack_uint64(meta.term.value());
  pack_conf_state(p, meta.conf);
}

void pack_message(Packer& p, const Message& m) {
  p.pack_array(kMessageFields);
  p.pack_uint8(static_cast<uint8_t>(m.kind));
  wire::pack_node_id(p, m.from);
  wire::pack_node_id(p, m.to);
  p.pack_uint64(m.term.value());
  p.pack_uint64(m.log_term.value());
  p.pack_uint64(m.index.value());
  p.pack_array(static_cast<uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries) pack_entry(p, e);
  p.pack_uint64(m.commit.value());
  p.pack(m.reject);
  p.pack_uint64(m.reject_hint.value());
  p.pack_uint64(m.conflict_term.value());
  p.pack(m.transfer);
  p.pack_uint64(m.context);
  pack_snapshot_meta(p, m.snapshot);
  p.pack_uint64(m.offset);
  pack_bin(p, m.data);
  p.pack(m.done);
}

template <class F>
std::vector<uint8_t> envelope(MsgType type, F&& body) {
  return wire::encode_envelope(type, kVersion, std::forward<F>(body));
}

// ---------------------------------------------------------------- reading
//
// Each reader takes the name of the record it reads (`what`), which starts
// every error it returns. A record nested in another field is read under a
// short name and its error prefixed with the enclosing field, so errors read
// as a path: "raft_message field 6: entry 3 field 2: unknown entry type 7".

Status field_error(std::string_view what, size_t field, std::string_view why) {
  return Status::decode(std::string(what) + " field " + std::to_string(field) + ": " +
                        std::string(why));
}

Status in_field(std::string_view what, size_t field, const Status& st) {
  if (st.is_ok()) return st;
  return Status(st.code(),
                std::string(what) + " field " + std::to_string(field) + ": " + st.message());
}

template <class S>
Status read_strong(const FieldReader& r, size_t i, S& out) {
  uint64_t v = 0;
  SHOAL_RETURN_IF_ERROR(r.u64(i, v));
  out = S(v);
  return Status::ok();
}

// The element a nested record sits in, so that a missing one is reported
// like any other missing field.
Status nested(const FieldReader& r, std::string_view what, size_t i, const msgpack::object*& out) {
  if (!r.has(i)) return field_error(what, i, "missing (" + std::to_string(r.size()) + " fields)");
  out = &r.at(i);
  return Status::ok();
}

Status read_entry(const msgpack::object& o, std::string_view what, Entry& out) {
  auto opened = FieldReader::open(o, what);
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  SHOAL_RETURN_IF_ERROR(read_strong(r, 0, out.term));
  SHOAL_RETURN_IF_ERROR(read_strong(r, 1, out.index));
  uint8_t type = 0;
  SHOAL_RETURN_IF_ERROR(r.uint(2, type));
  if (type > kMaxEntryType) {
    return field_error(what, 2, "unknown entry type " + std::to_string(type));
  }
  out.type = static_cast<EntryType>(type);
  return r.bin(3, out.data, kMaxMessageBytes);
}

Status read_hard_state(const msgpack::object& o, std::string_view what, HardState& out) {
  auto opened = FieldReader::open(o, what);
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  SHOAL_RETURN_IF_ERROR(read_strong(r, 0, out.term));
  SHOAL_RETURN_IF_ERROR(r.node_id(1, out.vote));
  return read_strong(r, 2, out.commit);
}

// A voter or learner list. Sortedness is checked rather than restored: the
// encoder always sends sorted lists, so anything else is corruption, and
// is_voter()'s binary search would silently give wrong answers on it.
Status read_ids(const FieldReader& r, std::string_view what, size_t i, const char* list,
                std::vector<NodeId>& out) {
  if (!r.has(i) || r.at(i).type != msgpack::type::ARRAY) {
    return field_error(what, i, std::string("expected an array of ") + list);
  }
  auto opened = FieldReader::open(r.at(i), list);
  if (!opened) return opened.status();
  const FieldReader& ids = *opened;
  if (ids.size() > kMaxVoters) {
    return field_error(what, i,
                       std::to_string(ids.size()) + " " + list + " exceed the limit of " +
                           std::to_string(kMaxVoters));
  }
  out.resize(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    SHOAL_RETURN_IF_ERROR(in_field(what, i, ids.node_id(k, out[k])));
    if (k > 0 && !(out[k - 1] < out[k])) {
      return field_error(
          what, i,
          std::string(list) + " are not sorted and unique (at position " + std::to_string(k) + ")");
    }
  }
  return Status::ok();
}

Status read_conf_state(const msgpack::object& o, std::string_view what, ConfState& out) {
  auto opened = FieldReader::open(o, what);
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  SHOAL_RETURN_IF_ERROR(read_ids(r, what, 0, "voters", out.voters));
  SHOAL_RETURN_IF_ERROR(read_ids(r, what, 1, "learners", out.learners));
  for (const NodeId& id : out.learners) {
    if (out.is_voter(id)) {
      return field_error(what, 1, "learner " + id.to_string() + " is also a voter");
    }
  }
  return Status::ok();
}

Status read_snapshot_meta(const msgpack::object& o, std::string_view what, SnapshotMeta& out) {
  auto opened = FieldReader::open(o, what);
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  SHOAL_RETURN_IF_ERROR(read_strong(r, 0, out.index));
  SHOAL_RETURN_IF_ERROR(read_strong(r, 1, out.term));
  const msgpack::object* conf = nullptr;
  SHOAL_RETURN_IF_ERROR(nested(r, what, 2, conf));
  return in_field(what, 2, read_conf_state(*conf, "conf", out.conf));
}

Status read_entries(const FieldReader& r, std::string_view what, size_t i,
                    std::vector<Entry>& out) {
  if (!r.has(i) || r.at(i).type != msgpack::type::ARRAY) {
    return field_error(what, i, "expected an array of entries");
  }
  const msgpack::object_array& list = r.at(i).via.array;
  if (list.size > kMaxEntriesPerMessage) {
    return field_error(what, i,
                       std::to_string(list.size) + " entries exceed the limit of " +
                           std::to_string(kMaxEntriesPerMessage));
  }
  out.resize(list.size);
  for (size_t k = 0; k < list.size; ++k) {
    // "entry 65535" fits std::string's small buffer: no allocation per entry.
    SHOAL_RETURN_IF_ERROR(
        in_field(what, i, read_entry(list.ptr[k], "entry " + std::to_string(k), out[k])));
  }
  return Status::ok();
}

Status read_message(const msgpack::object& o, std::string_view what, Message& out) {
  auto opened = FieldReader::open(o, what);
  if (!opened) return opened.status();
  const FieldReader& r = *opened;
  uint8_t kind = 0;
  SHOAL_RETURN_IF_ERROR(r.uint(kKind, kind));
  if (kind > kMaxMessageKind) {
    return field_error(what, kKind, "unknown message kind " + std::to_string(kind));
  }
  out.kind = static_cast<MessageKind>(kind);
  SHOAL_RETURN_IF_ERROR(r.node_id(kFrom, out.from));
  SHOAL_RETURN_IF_ERROR(r.node_id(kTo, out.to));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kTerm, out.term));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kLogTerm, out.log_term));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kIndex, out.index));
  SHOAL_RETURN_IF_ERROR(read_entries(r, what, kEntries, out.entries));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kCommit, out.commit));
  SHOAL_RETURN_IF_ERROR(r.boolean(kReject, out.reject));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kRejectHint, out.reject_hint));
  SHOAL_RETURN_IF_ERROR(read_strong(r, kConflictTerm, out.conflict_term));
  SHOAL_RETURN_IF_ERROR(r.boolean(kTransfer, out.transfer));
  SHOAL_RETURN_IF_ERROR(r.u64(kContext, out.context));
  const msgpack::object* snapshot = nullptr;
  SHOAL_RETURN_IF_ERROR(nested(r, what, kSnapshot, snapshot));
  SHOAL_RETURN_IF_ERROR(
      in_field(what, kSnapshot, read_snapshot_meta(*snapshot, "snapshot", out.snapshot)));
  SHOAL_RETURN_IF_ERROR(r.u64(kOffset, out.offset));
  SHOAL_RETURN_IF_ERROR(r.bin(kData, out.data, kMaxMessageBytes));
  return r.boolean(kDone, out.done);
}

// Opens the envelope, checks its type, and reads the body with `read`.
template <class T, class Read>
Result<T> decode_value(std::span<const uint8_t> bytes, MsgType type, Read read) {
  const char* what = msg_type_name(type);
  // wire::decode_envelope already turns msgpack's exceptions into a Status;
  // this catches the rest (std::bad_alloc on a 64 MiB bin), since a peer or a
  // corrupt disk must never be able to unwind through the caller.
  try {
    auto env = wire::decode_envelope(bytes, message_limits());
    if (!env) return env.status();
    if (env->type() != type) {
      return Status::decode(std::string("expected ") + what + ", got " +
                            msg_type_name(env->type()) + " (type " +
                            std::to_string(static_cast<uint16_t>(env->type())) + ")");
    }
    if (env->version() == 0) return Status::decode(std::string(what) + ": version 0");
    T out;
    SHOAL_RETURN_IF_ERROR(read(env->body(), what, out));
    return out;
  } catch (const std::exception& e) {
    return Status::decode(std::string(what) + ": " + e.what());
  }
}

}  // namespace

wire::DecodeLimits message_limits() {
  wire::DecodeLimits l;
  l.max_bytes = kMaxMessageBytes;
  l.max_array = kMaxEntriesPerMessage;
  l.max_bin = kMaxMessageBytes;
  // Raft bodies hold no strings or maps today; the defaults stay so that a
  // newer node's appended fields pass validation and are then ignored.
  // Deepest today: envelope > body > snapshot > conf > voters (5).
  l.max_depth = 8;
  return l;
}

std::vector<uint8_t> encode(const Message& m) {
  return envelope(MsgType::kRaftMessage, [&](Packer& p) { pack_message(p, m); });
}

Result<Message> decode_message(std::span<const uint8_t> bytes) {
  return decode_value<Message>(bytes, MsgType::kRaftMessage, read_message);
}

std::vector<uint8_t> encode(const Entry& e) {
  return envelope(MsgType::kRaftEntry, [&](Packer& p) { pack_entry(p, e); });
}

Result<Entry> decode_entry(std::span<const uint8_t> bytes) {
  return decode_value<Entry>(bytes, MsgType::kRaftEntry, read_entry);
}

std::vector<uint8_t> encode(const HardState& hs) {
  return envelope(MsgType::kRaftHardState, [&](Packer& p) { pack_hard_state(p, hs); });
}

Result<HardState> decode_hard_state(std::span<const uint8_t> bytes) {
  return decode_value<HardState>(bytes, MsgType::kRaftHardState, read_hard_state);
}

std::vector<uint8_t> encode(const ConfState& cs) {
  return envelope(MsgType::kRaftConfState, [&](Packer& p) { pack_conf_state(p, cs); });
}

Result<ConfState> decode_conf_state(std::span<const uint8_t> bytes) {
  return decode_value<ConfState>(bytes, MsgType::kRaftConfState, read_conf_state);
}

std::vector<uint8_t> encode(const SnapshotMeta& meta) {
  return envelope(MsgType::kRaftSnapshotMeta, [&](Packer& p) { pack_snapshot_meta(p, meta); });
}

Result<SnapshotMeta> decode_snapshot_meta(std::span<const uint8_t> bytes) {
  return decode_value<SnapshotMeta>(bytes, MsgType::kRaftSnapshotMeta, read_snapshot_meta);
}

}  // namespace shoal::raft::codec
