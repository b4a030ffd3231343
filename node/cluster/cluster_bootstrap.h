// Cluster formation without configured servers (DESIGN.md §2,
// --bootstrap-expect N): a pure decision over what gossip shows, made again
// on every membership or metadata change.
//
// Agents started with --bootstrap-expect N publish, in their gossip
// metadata, their candidate set: the N lowest node ids among the alive
// members that also expect N and hold no Raft state and no cluster id. When
// all N candidates publish the identical set, each of them forms the first
// Raft configuration with exactly those N voters and the cluster id derived
// from the set (the same on every candidate, with no further messages).
// Anyone with Raft state or a cluster id in view stops the process: a node
// that has a cluster never bootstraps again, and a new node joins the
// cluster it sees instead of forming another.
//
// Safety rests on determinism: the first entry is a function of the set
// alone, so if only some of the N form (the others saw a newer member
// first), they still agree, and the rest receive that entry as voters. The
// known limit (Consul's bootstrap-expect has it too): views that disagree
// for long enough, e.g. a partition during formation, could let two
// disjoint sets each see agreement; give the first N agents the same
// --join seeds and start them together.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "gossip/types.h"

namespace shoal::node {

// What one alive member (self included) shows in gossip.
struct BootstrapPeer {
  NodeId id;
  uint32_t expect = 0;             // its --bootstrap-expect (0: none, join only)
  std::vector<NodeId> candidates;  // the set it publishes (sorted; empty: none yet)
  bool has_state = false;          // it holds Raft state (or a cluster id)
  std::string cluster_id;          // its cluster id, if it has one
};

struct BootstrapDecision {
  // The candidate set to publish now (empty: nothing to publish).
  std::vector<NodeId> publish;
  // Form the cluster now with these voters (sorted) and this cluster id.
  bool form = false;
  std::vector<NodeId> voters;
  std::string cluster_id;
  // Why nothing happens (for logs and /v1/status), e.g. "waiting: 2 of 3
  // candidates seen" or "a cluster exists (abc123…): joining it".
  std::string status;
};

// `self` must be in `members`. `expect` is this agent's --bootstrap-expect
// (0: never bootstraps); `has_state`: this agent holds Raft state.
BootstrapDecision decide_bootstrap(const NodeId& self, uint32_t expect, bool has_state,
                                   const std::vector<BootstrapPeer>& members);

// The view decide_bootstrap works on, from what gossip shows: one peer per
// alive (or suspect) member, with its published N and candidate set parsed
// from its bootstrap tag (a malformed tag counts as none), and `has_state`
// when it advertises a cluster id or a voter/learner role. For `self` its
// own gossip entry supplies only the set it published last; N is `expect`
// (this agent's --bootstrap-expect) and the state and cluster id are
// `own_cluster_id`, which this agent knows before its gossip entry says so.
std::vector<BootstrapPeer> bootstrap_view(std::span<const gossip::Member> members,
                                          const NodeId& self, uint32_t expect,
                                          const std::string& own_cluster_id);

// True when someone in `view` already has a cluster (Raft state or a
// cluster id): from then on nobody publishes a bootstrap tag.
bool cluster_in_view(std::span<const BootstrapPeer> view);

// The bootstrap tag this agent publishes in its gossip metadata: none
// (empty) without --bootstrap-expect or once a cluster is in view;
// otherwise N, with the decision's candidate set once there is one
// ("bootstrap=3:" before, so the others can count the agents expecting the
// same N). Forming clears it; the agent does that itself after forming.
std::string bootstrap_tag_to_publish(uint32_t expect, bool cluster_seen,
                                     const BootstrapDecision& decision);

// The cluster id the N candidates derive: 32 hex digits of a hash of the
// sorted set (deterministic, so every candidate computes the same).
std::string cluster_id_for(const std::vector<NodeId>& voters);

// The gossip tag carrying a published set: "bootstrap=N:id,id,...".
std::string format_bootstrap_tag(uint32_t expect, const std::vector<NodeId>& candidates);
// Parses a tag; NotFound if it is not a bootstrap tag, kInvalidArgument if
// it is malformed (N out of 1..9, an id that does not parse, more ids than
// N, unsorted or repeated ids).
Result<std::pair<uint32_t, std::vector<NodeId>>> parse_bootstrap_tag(std::string_view tag);

}  // namespace shoal::node
