// The upgrade gate: see upgrade_gate.h.
#include "node/cluster/upgrade_gate.h"

#include <charconv>

namespace shoal::node {

std::string state_schema_tag(uint32_t schema) {
  return std::string(kStateSchemaTag) + std::to_string(schema);
}

std::optional<uint32_t> advertised_state_schema(std::span<const std::string> tags) {
  for (const std::string& t : tags) {
    if (!t.starts_with(kStateSchemaTag)) continue;
    const char* first = t.data() + kStateSchemaTag.size();
    const char* last = t.data() + t.size();
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || end != last || first == last) return std::nullopt;
    return v;
  }
  return 1;
}

std::optional<std::string> voters_lacking_schema(std::span<const VoterSchema> voters,
                                                 uint32_t needed) {
  // No shortcut for schema 1: a voter that advertises 0 (a test fault) lacks
  // it. One unknown to gossip is taken to be a build of schema 1.
  for (const VoterSchema& v : voters) {
    if (v.schema.value_or(1) >= needed) continue;
    const std::string who = v.name.empty() ? v.id.short_string() : v.name;
    return "voter " + who +
           (v.schema ? " understands state schema " + std::to_string(*v.schema)
                     : " is not known to gossip") +
           ", this write needs schema " + std::to_string(needed) + "; upgrade every voter first";
  }
  return std::nullopt;
}

}  // namespace shoal::node
