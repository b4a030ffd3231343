// Raft's wire and disk encodings. Every value is a core/wire.h envelope
// ([type, version, body], positional body, fields only appended), with the
// MsgType values 1000..1099 of core/msg_types.h. Decoders take untrusted
// bytes (from peers, or from a disk that may be corrupt): they never throw,
// never allocate past DecodeLimits, and name the failing field in the error.
// tests/fuzz/fuzz_raft.cc feeds them arbitrary bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/wire.h"
#include "raft/message.h"
#include "raft/types.h"

namespace shoal::raft::codec {

// Limits for one Raft message: up to kMaxMessageBytes, entries and snapshot
// chunks as bins of up to that size.
inline constexpr size_t kMaxMessageBytes = 64u << 20;
inline constexpr size_t kMaxEntriesPerMessage = 65536;
inline constexpr size_t kMaxVoters = 4096;
wire::DecodeLimits message_limits();

std::vector<uint8_t> encode(const Message& m);
Result<Message> decode_message(std::span<const uint8_t> bytes);

// Single values, as stored by the RocksDB log store and inside entries.
std::vector<uint8_t> encode(const Entry& e);
Result<Entry> decode_entry(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode(const HardState& hs);
Result<HardState> decode_hard_state(std::span<const uint8_t> bytes);
// A kConfChange entry's data: the configuration that results from it.
std::vector<uint8_t> encode(const ConfState& cs);
Result<ConfState> decode_conf_state(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode(const SnapshotMeta& meta);
Result<SnapshotMeta> decode_snapshot_meta(std::span<const uint8_t> bytes);

}  // namespace shoal::raft::codec
