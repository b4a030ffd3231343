#include "node/cluster/registry_writer.h"

namespace shoal::node {

scheduler::NodeRecord observed_node(const gossip::Member& m) {
  scheduler::NodeRecord r;
  r.id = m.id;
  r.name = m.meta.name;
  r.address = m.meta.gossip.ip;
  r.rpc_port = m.meta.rpc_port;
  r.http_port = m.meta.http_port;
  r.dns_port = m.meta.dns_port;
  r.cpu_mhz = m.meta.resources.cpu_mhz;
  r.memory_mb = m.meta.resources.memory_mb;
  r.attrs = m.meta.attrs;
  r.alive = m.status == gossip::MemberStatus::kAlive || m.status == gossip::MemberStatus::kSuspect;
  r.role = m.meta.role;
  return r;
}

std::vector<scheduler::NodeUpsert> registry_upserts(std::span<const gossip::Member> members,
                                                    const scheduler::NodeRegistry& registry,
                                                    const std::string& cluster_id,
                                                    uint64_t now_unix_ms, size_t max) {
  std::vector<scheduler::NodeUpsert> todo;
  if (max == 0) return todo;
  for (const gossip::Member& m : members) {
    if (m.status == gossip::MemberStatus::kLeft) continue;
    if (!m.meta.cluster_id.empty() && m.meta.cluster_id != cluster_id) continue;
    scheduler::NodeRecord r = observed_node(m);
    const scheduler::NodeRecord* known = registry.find(m.id);
    if (known != nullptr) {
      r.eligible = known->eligible;
      r.drain = known->drain;
    }
    if (!registry.differs(r)) continue;
    r.since_unix_ms =
        (known != nullptr && known->alive == r.alive) ? known->since_unix_ms : now_unix_ms;
    todo.push_back(scheduler::NodeUpsert{std::move(r)});
    if (todo.size() >= max) break;
  }
  return todo;
}

}  // namespace shoal::node
