#include "gossip/meta_pool.h"

#include <functional>
#include <string>

#include "core/rng.h"

namespace shoal::gossip {

namespace {

uint64_t hash_str(const std::string& s) { return std::hash<std::string>{}(s); }

}  // namespace

size_t hash_meta(const NodeMeta& m) {
  // Only needs to spread equal-looking metadata (same attrs, different
  // names) across buckets; mix64 chains every field in.
  uint64_t h = hash_str(m.name);
  h = mix64(h, hash_str(m.gossip.ip));
  h = mix64(h, (uint64_t{m.gossip.port} << 48) ^ (uint64_t{m.rpc_port} << 32) ^
                   (uint64_t{m.http_port} << 16) ^ m.dns_port);
  for (const auto& [k, v] : m.attrs) h = mix64(mix64(h, hash_str(k)), hash_str(v));
  h = mix64(h, (uint64_t{m.resources.cpu_mhz} << 32) ^ m.resources.memory_mb);
  for (const auto& t : m.tags) h = mix64(h, hash_str(t));
  h = mix64(h, hash_str(m.cluster_id));
  h = mix64(h, hash_str(m.role));
  h = mix64(h, (uint64_t{m.protocol_min} << 8) ^ m.protocol_max);
  return static_cast<size_t>(h);
}

size_t MetaPool::Hash::operator()(const std::shared_ptr<const NodeMeta>& m) const {
  return hash_meta(*m);
}

std::shared_ptr<const NodeMeta> MetaPool::intern(NodeMeta meta) {
  auto candidate = std::make_shared<const NodeMeta>(std::move(meta));
  auto [it, inserted] = set_.insert(candidate);
  if (inserted && set_.size() >= sweep_at_) sweep();
  return *it;
}

void MetaPool::sweep() {
  // Amortised O(1): a sweep of n entries happens only after the pool has
  // doubled since the previous one.
  for (auto it = set_.begin(); it != set_.end();) {
    if (it->use_count() == 1) {
      it = set_.erase(it);
    } else {
      ++it;
    }
  }
  sweep_at_ = std::max<size_t>(1024, set_.size() * 2);
}

}  // namespace shoal::gossip
