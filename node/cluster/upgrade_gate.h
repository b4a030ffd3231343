// The second half of the upgrade rule (DESIGN.md §2): a leader proposes a
// state entry only once every voter understands it. Each agent advertises
// the state schema it understands (scheduler::kStateSchema) as the gossip
// tag "state=N"; an agent that advertises none understands schema 1, the
// schema of the builds before the tag existed. A voter that gossip does not
// know at all (or whose tag is malformed) understands nothing above schema 1.
// "state=0" understands no entry at all: no real build advertises it, but the
// test fault old-state-schema (node/host/test_faults.h) does, so that a test
// can watch the gate hold back the entries of today's schema.
//
// Pure: the caller passes the voters of the configuration in force and what
// gossip says about each; node/agent_cluster wires it to every proposal of a
// state entry (KV writes, restores, node upserts).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace shoal::node {

// The gossip tag prefix: "state=1".
inline constexpr std::string_view kStateSchemaTag = "state=";

// The tag for `schema`, and the schema a node's tags advertise (1 when none
// does, nullopt when one is malformed; 0 is a schema, see above).
std::string state_schema_tag(uint32_t schema);
std::optional<uint32_t> advertised_state_schema(std::span<const std::string> tags);

// One voter as gossip knows it: `schema` is nullopt when gossip does not know
// the node, or its tag is malformed.
struct VoterSchema {
  NodeId id;
  std::string name;
  std::optional<uint32_t> schema;
};

// Nullopt when every voter understands `needed` (a voter whose schema is
// nullopt counts as understanding schema 1); else one sentence naming the
// first voter that does not, for the client's error.
std::optional<std::string> voters_lacking_schema(std::span<const VoterSchema> voters,
                                                 uint32_t needed);

}  // namespace shoal::node
