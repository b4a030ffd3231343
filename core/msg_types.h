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

  // ---- gossip (gossip/codec.h documents each body) ----
  kGossipCompound = 1,        // one UDP packet: [parts: [envelope, ...]]
  kGossipPing = 2,            // direct probe; also the TCP fallback probe request
  kGossipIndirectPing = 3,    // "probe this member for me"
  kGossipAck = 4,             // answer to a ping (direct or relayed)
  kGossipNack = 5,            // an indirect probe's helper could not reach the target
  kGossipAlive = 6,           // member alive at an incarnation, with its metadata
  kGossipSuspect = 7,         // member suspected at an incarnation, by a member
  kGossipDead = 8,            // member declared dead at an incarnation, by a member
  kGossipLeft = 9,            // member left gracefully at an incarnation
  kGossipPushPull = 10,       // full member list, over a stream (sync and join)
  kGossipQuery = 11,          // cluster-wide query, disseminated like an update
  kGossipQueryResponse = 12,  // one member's answer, sent to the query's origin
  kGossipMemberList = 13,     // the persisted member list (disk, not wire)

  // ---- raft (raft/codec.h documents each body) ----
  kRaftMessage = 1000,       // one raft::Message (every MessageKind)
  kRaftEntry = 1001,         // one log entry (disk: the RocksDB log store)
  kRaftHardState = 1002,     // term, vote, commit (disk)
  kRaftConfState = 1003,     // a configuration (a kConfChange entry's data)
  kRaftSnapshotMeta = 1004,  // index, term, configuration of a snapshot (disk)

  // ---- RPC (core/rpc_handshake.h documents the handshake) ----
  kRpcHello = 2000,    // initiator: version, label, id, key id, ephemeral key, nonce
  kRpcWelcome = 2001,  // responder: id, key id, ephemeral key, nonce, stream header, MAC
  kRpcConfirm = 2002,  // initiator: stream header, MAC
  kRpcForwardRequest =
      2003,  // an HTTP request forwarded to the leader (node/cluster/cluster_rpc.h)
  kRpcForwardResponse = 2004,  // its answer
  kRpcFollowRequest = 2005,    // an observer asks a voter for the committed log after an index
  kRpcFollowResponse = 2006,   // entries, or a snapshot chunk

  // ---- replicated state machine (scheduler/) ----
  kStateKvCommand = 3000,   // a KV put / delete / delete-tree (scheduler/kv_state.h)
  kStateKvSnapshot = 3001,  // the whole KV state
  kStateNodeUpsert = 3002,  // one node's record, from the leader (scheduler/node_registry.h)
  kStateSnapshot = 3003,    // the whole replicated state (scheduler/cluster_state.h)
  kStateRestore = 3004,     // replace the whole state with a snapshot image (PUT /v1/snapshot)
  kTestEcho = 0xFF00,
  kTestPing = 0xFF01,
};

// A stable lower-case name for logs and metrics ("test_echo"), or "unknown".
const char* msg_type_name(MsgType type);

}  // namespace shoal
