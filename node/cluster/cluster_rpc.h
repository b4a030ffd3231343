// The agents' RPC messages besides Raft's own (node/consensus/raft_rpc.h), each the
// plaintext of one SecureChannel frame: a one-byte channel tag, then one
// envelope (core/wire.h) whose type and version say what it is.
//
//   tag 0x02 forward   an HTTP request an agent could not answer itself
//                      (a write, a linearizable read, /v1/raft/... on a
//                      non-leader) sent to the Raft leader, and its answer.
//                      The leader runs it through its own router; the answer
//                      travels back on the same connection.
//   tag 0x03 follow    an observer (outside the Raft configuration) asks a
//                      voter for the committed log after index X; the voter
//                      answers with entries, or with a chunk of its stored
//                      snapshot when X is older than its log.
//
// Requests carry an id chosen by the sender; the answer repeats it. Every
// decoder bounds sizes before allocating and never throws; a frame that does
// not decode is counted and dropped by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "raft/types.h"

namespace shoal::node {

inline constexpr uint8_t kForwardRpcChannel = 0x02;
inline constexpr uint8_t kFollowRpcChannel = 0x03;

// How many times a request may be forwarded (the leader may change while a
// request is in flight; beyond this the agent answers 503).
inline constexpr uint8_t kMaxForwardHops = 2;
// The largest HTTP body forwarded (bounded below the RPC frame size).
inline constexpr size_t kMaxForwardBody = 8u << 20;
// The longest a voter holds a follow request.
inline constexpr uint32_t kMaxFollowWaitMs = 5000;

struct ForwardRequest {
  uint64_t id = 0;
  uint8_t hops = 1;
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query, as received
  std::string body;
  std::string content_type;
  bool operator==(const ForwardRequest&) const = default;
};

struct ForwardResponse {
  uint64_t id = 0;
  uint32_t status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const ForwardResponse&) const = default;
};

struct FollowRequest {
  uint64_t id = 0;
  uint64_t after = 0;             // the observer has applied everything up to here
  uint32_t max_bytes = 4u << 20;  // entry data per answer
  uint64_t snapshot_index = 0;    // continuing a snapshot transfer: its index, else 0
  uint64_t snapshot_offset = 0;   // and the bytes already received
  // A long poll: with nothing after `after` to send, and `term` still the
  // voter's term, the voter may hold the request up to this long (capped
  // at kMaxFollowWaitMs) and answers once an entry is applied, the leader
  // or term changes, or the time is up. 0: answer at once. Absent in
  // frames from older agents (then 0).
  uint32_t wait_ms = 0;
  uint64_t term = 0;  // the term the observer knows
  // A probe: only the leader, term, commit and configuration are wanted
  // (max_bytes is 0); no entries and no snapshot are read.
  bool probe() const { return max_bytes == 0; }
  bool operator==(const FollowRequest&) const = default;
};

struct FollowResponse {
  uint64_t id = 0;
  std::string error;       // non-empty: the voter could not answer (no log, stopping)
  std::string cluster_id;  // the voter's cluster
  NodeId leader;           // the leader the voter knows (zero: none)
  uint64_t term = 0;
  uint64_t commit = 0;
  raft::ConfState conf;  // the configuration as the voter knows it
  // A snapshot chunk (when `after` is older than the voter's log): the
  // snapshot's meta, its total size, and data[offset, offset + chunk).
  bool has_snapshot = false;
  raft::SnapshotMeta snapshot_meta;
  uint64_t snapshot_size = 0;
  uint64_t snapshot_offset = 0;
  std::vector<uint8_t> snapshot_chunk;
  std::vector<raft::Entry> entries;  // committed, in order, after `after`
  // `conf` is committed (no configuration change is pending on the voter):
  // with a leader's answer, the configuration in force at `commit`. Absent
  // in frames from older agents (then false).
  bool conf_committed = false;
};

// A frame: the channel tag, then the message's envelope.
std::vector<uint8_t> encode_frame(const ForwardRequest& m);
std::vector<uint8_t> encode_frame(const ForwardResponse& m);
std::vector<uint8_t> encode_frame(const FollowRequest& m);
std::vector<uint8_t> encode_frame(const FollowResponse& m);

// Decoders of a frame without its tag byte.
Result<ForwardRequest> decode_forward_request(std::span<const uint8_t> bytes);
Result<ForwardResponse> decode_forward_response(std::span<const uint8_t> bytes);
Result<FollowRequest> decode_follow_request(std::span<const uint8_t> bytes);
Result<FollowResponse> decode_follow_response(std::span<const uint8_t> bytes);

}  // namespace shoal::node
