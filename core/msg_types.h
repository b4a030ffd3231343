// The one append-only registry of message and entry types on Shoal's wire.
//
// Rules: a value, once assigned, is never reused or renumbered; new types are
// appended at the end of their subsystem's range; removed types stay as
// comments. Every message on the wire is an envelope [type, version, body]
// (see wire.h), so an agent that meets a type it does not know can say so
// instead of misreading it (the upgrade rule of DESIGN.md §2).
#pragma once

#include <cstdint>

namespace shoal {

enum class MsgType : uint16_t {
  kInvalid = 0,
  // 1..999       gossip (SWIM, Lifeguard, push-pull, queries)
  // 1000..1999   raft (messages between voters, observers' log follow)
  // 2000..2999   RPC (handshake, forwarded requests, bids)
  // 3000..3999   replicated state-machine entries (jobs, nodes, KV, ...)
  // 0xFF00..     test-only types; never sent by an agent.
  kTestEcho = 0xFF00,
  kTestPing = 0xFF01,
};

// A stable lower-case name for logs and metrics ("test_echo"), or "unknown".
const char* msg_type_name(MsgType type);

}  // namespace shoal
