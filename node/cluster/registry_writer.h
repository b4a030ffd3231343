// The node registry writer's decision (DESIGN.md §6.1), pure: the leader's
// gossip members and the replicated registry go in, the NodeUpsert entries
// to propose come out.
//
// The leader is the only writer of the registry. It observes every member
// that gossip shows for its cluster (or with no cluster yet) and writes a
// record only when what it sees differs from the stored one in anything
// but the indexes and since_unix_ms (NodeRegistry::differs), so a stable
// cluster writes nothing. since_unix_ms is the leader's wall-clock time of
// the last alive/down flip: it is passed in by the caller (the state
// machine and this function never read a clock), kept from the stored
// record while the member's liveness is unchanged, and set to now on a
// flip or for a node seen the first time. Eligibility and drain are
// operator decisions already in the registry: an upsert carries them over
// instead of resetting them from gossip, which knows nothing of them.
//
// The agent (node/cluster/agent_cluster.cc) keeps the side effects and the pacing:
// it calls this every few seconds while it leads and nothing it proposed
// is still in flight, checks each entry against the upgrade gate, and
// proposes them. A simulation drives the same function with its own
// members, registry and time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gossip/types.h"
#include "scheduler/node_registry.h"

namespace shoal::node {

// What the registry should say about `m`, as the leader observes it: the
// member's advertised name, address, ports, capacity, attributes and role,
// alive for alive or suspect members. eligible/drain keep their defaults
// and since_unix_ms is 0 (registry_upserts fills those in).
scheduler::NodeRecord observed_node(const gossip::Member& m);

// The upserts that bring `registry` in line with `members`, in member
// order, at most `max` of them (the rest are written on a later call, once
// these are applied). Skipped: members that left, and members that belong
// to another cluster than `cluster_id` (an empty cluster id in gossip is a
// node that has not adopted one yet, and is written). `now_unix_ms` is the
// leader's wall-clock time, stamped into records whose liveness changed.
std::vector<scheduler::NodeUpsert> registry_upserts(std::span<const gossip::Member> members,
                                                    const scheduler::NodeRegistry& registry,
                                                    const std::string& cluster_id,
                                                    uint64_t now_unix_ms, size_t max);

}  // namespace shoal::node
