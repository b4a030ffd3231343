// The messages Raft nodes exchange. One struct for every kind, as in
// etcd-raft: fields a kind does not use stay at their defaults. The network
// carries them opaquely; the codec (codec.h) encodes each as a core/wire.h
// envelope with every field in a positional body (a few bytes for the unused
// ones: a heartbeat is under 70 bytes).
#pragma once

#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace shoal::raft {

enum class MessageKind : uint8_t {
  kPreVote = 0,  // "would you vote for me at term+1?" (§9.6 of the thesis)
  kPreVoteResp = 1,
  kVote = 2,  // RequestVote
  kVoteResp = 3,
  kAppend = 4,  // AppendEntries with entries (may be empty: a probe)
  kAppendResp = 5,
  kHeartbeat = 6,  // keeps followers from campaigning; carries commit and a read context
  kHeartbeatResp = 7,
  kSnapshot = 8,  // one chunk of InstallSnapshot
  kSnapshotResp = 9,
  kTimeoutNow = 10,  // leader transfer: "campaign now, ignoring leases"
  kReadIndex = 11,   // a follower forwards a read request to the leader
  kReadIndexResp = 12,
};

const char* message_kind_name(MessageKind k);

struct Message {
  MessageKind kind = MessageKind::kAppend;
  NodeId from;
  NodeId to;
  Term term;  // the sender's term (for kPreVote: the term it would campaign at)

  // kAppend: the entry before `entries`. kVote/kPreVote: the candidate's last
  // entry. kAppendResp: the index acknowledged (or, rejected, the index the
  // rejection is about).
  Term log_term;
  Index index;
  std::vector<Entry> entries;
  Index commit;  // kAppend, kHeartbeat: the leader's commit index

  bool reject = false;
  // kAppendResp with reject: the follower's hint for fast backtracking (Raft
  // §5.3 optimisation): reject_hint - 1 is its last entry that could still
  // match the leader (its term <= the leader's prev term), conflict_term that
  // entry's term.
  Index reject_hint;
  Term conflict_term;

  // kVote/kPreVote sent because of a leader transfer: overrides leases.
  bool transfer = false;

  // kHeartbeat/kHeartbeatResp/kReadIndex/kReadIndexResp: the read request id.
  uint64_t context = 0;

  // kSnapshot: one chunk. `snapshot` meta is set on every chunk; `data` holds
  // bytes [offset, offset + data.size()) of the image; `done` on the last.
  // kSnapshotResp: `index` = bytes received so far (offset to send next).
  SnapshotMeta snapshot;
  uint64_t offset = 0;
  std::vector<uint8_t> data;
  bool done = false;

  bool operator==(const Message&) const = default;
};

}  // namespace shoal::raft
