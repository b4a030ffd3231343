// The node registry of Shoal's replicated state (DESIGN.md §6.1): what the
// leader learned from gossip about each node (id, name, address, ports,
// capacity, attributes, eligibility, drain, alive/down with the leader's
// timestamp), written into the log as NodeUpsert entries (core/msg_types.h
// 3002). These records are the only node facts the state machine ever reads.
//
// Pure like the rest of scheduler/: the timestamp in a record is the
// leader's, carried in the entry; applying never reads a clock.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "core/wire.h"

namespace shoal::scheduler {

inline constexpr uint8_t kNodeUpsertVersion = 1;
inline constexpr size_t kMaxNodeNameBytes = 63;
inline constexpr size_t kMaxNodeAddressBytes = 64;
inline constexpr size_t kMaxNodeAttrs = 64;
inline constexpr size_t kMaxNodeAttrBytes = 256;  // each key and each value
inline constexpr size_t kMaxNodeRoleBytes = 32;

struct NodeRecord {
  NodeId id;
  std::string name;
  std::string address;  // advertised IP
  uint16_t rpc_port = 0;
  uint16_t http_port = 0;
  uint16_t dns_port = 0;
  uint32_t cpu_mhz = 0;
  uint32_t memory_mb = 0;
  std::map<std::string, std::string> attrs;
  bool eligible = true;  // may receive allocations (scheduling, not Raft voting)
  bool drain = false;
  bool alive = true;  // the leader's view from gossip
  // The leader's wall-clock time of the last alive/down change, written by
  // the leader into the entry (the state machine never reads a clock).
  uint64_t since_unix_ms = 0;
  std::string role;  // "voter", "learner", "observer" as the leader saw it
  // Set by NodeRegistry::apply; not carried in a NodeUpsert.
  uint64_t create_index = 0;
  uint64_t modify_index = 0;

  bool operator==(const NodeRecord&) const = default;
};

// Checks the bounds a NodeUpsert must respect: a non-zero id, a name of
// 1..63 bytes, an address of at most 64 bytes, at most 64 attributes with
// keys of 1..256 bytes and values of at most 256 bytes, a role of at most
// 32 bytes. Returns invalid_argument / too_large naming the problem.
Status validate_node(const NodeRecord& node);

// One log entry: envelope kStateNodeUpsert version 1, body the record's
// positional fields (indexes are not carried).
struct NodeUpsert {
  NodeRecord node;
  bool operator==(const NodeUpsert&) const = default;
};

std::vector<uint8_t> encode(const NodeUpsert& u);
// Decodes and validates (validate_node; attributes in strictly increasing key
// order). Never throws. create_index/modify_index of the result are 0.
Result<NodeUpsert> decode_node_upsert(std::span<const uint8_t> bytes);

class NodeRegistry {
 public:
  // Upserts u.node as the entry at log index `index` (strictly greater than
  // every index that changed the registry; SHOAL_CHECKed). Returns false when
  // nothing changed: the record is invalid, or identical to the stored one
  // apart from the indexes (then modify_index is not bumped).
  bool apply(uint64_t index, const NodeUpsert& u);

  const NodeRecord* find(const NodeId& id) const;
  const std::map<NodeId, NodeRecord>& all() const { return nodes_; }
  size_t size() const { return nodes_.size(); }
  // The index of the last entry that changed the registry.
  uint64_t index() const { return index_; }

  // True when `observed` is unknown or differs from the stored record in
  // anything but the indexes and since_unix_ms: the leader writes an upsert
  // only then.
  bool differs(const NodeRecord& observed) const;

  // The registry as one positional array inside a larger snapshot, and back
  // (validates every record, id order, and index consistency).
  void pack(wire::Packer& p) const;
  static Result<NodeRegistry> unpack(const msgpack::object& part);

  // A hash of every record (with indexes), equal on replicas that applied
  // the same entries. O(n).
  uint64_t hash() const;

 private:
  std::map<NodeId, NodeRecord> nodes_;
  uint64_t index_ = 0;
};

}  // namespace shoal::scheduler
