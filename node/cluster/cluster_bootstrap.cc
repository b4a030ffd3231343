#include "node/cluster/cluster_bootstrap.h"

#include <sodium.h>

#include <algorithm>

namespace shoal::node {

namespace {
constexpr std::string_view kTagPrefix = "bootstrap=";
constexpr uint32_t kMaxExpect = 9;
}  // namespace

std::string cluster_id_for(const std::vector<NodeId>& voters) {
  std::vector<NodeId> sorted = voters;
  std::sort(sorted.begin(), sorted.end());
  crypto_generichash_state st;
  uint8_t out[16];
  crypto_generichash_init(&st, nullptr, 0, sizeof out);
  static constexpr char kContext[] = "shoal-cluster-id-v1";
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kContext), sizeof kContext - 1);
  for (const NodeId& id : sorted) crypto_generichash_update(&st, id.bytes().data(), NodeId::kBytes);
  crypto_generichash_final(&st, out, sizeof out);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : out) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

BootstrapDecision decide_bootstrap(const NodeId& self, uint32_t expect, bool has_state,
                                   const std::vector<BootstrapPeer>& members) {
  BootstrapDecision d;
  if (has_state) {
    d.status = "this agent has Raft state: it rejoins its cluster and never bootstraps";
    return d;
  }
  // Another candidate of the set this agent published formed the cluster
  // first (it saw everyone agree a moment earlier): this agent is one of
  // its voters and bootstraps the same configuration, instead of waiting
  // as an observer for the leader to find it.
  auto me = std::find_if(members.begin(), members.end(),
                         [&](const BootstrapPeer& p) { return p.id == self; });
  if (expect != 0 && me != members.end() && me->candidates.size() == expect &&
      std::binary_search(me->candidates.begin(), me->candidates.end(), self)) {
    const std::string ours = cluster_id_for(me->candidates);
    for (const BootstrapPeer& p : members) {
      if (p.id != self && p.cluster_id == ours) {
        d.form = true;
        d.voters = me->candidates;
        d.cluster_id = ours;
        d.status = "forming cluster " + ours.substr(0, 8) + " with " + std::to_string(expect) +
                   " voters (another candidate formed it first)";
        return d;
      }
    }
  }
  for (const BootstrapPeer& p : members) {
    if (p.has_state || !p.cluster_id.empty()) {
      d.status = p.cluster_id.empty()
                     ? "a member with Raft state is in view: joining its cluster"
                     : "a cluster exists (" + p.cluster_id.substr(0, 8) + "): joining it";
      return d;
    }
  }
  if (expect == 0) {
    d.status = "no --bootstrap-expect: waiting to be added to a cluster";
    return d;
  }
  // The candidates: alive members that expect the same N and hold nothing.
  std::vector<NodeId> eligible;
  for (const BootstrapPeer& p : members) {
    if (p.expect == expect) eligible.push_back(p.id);
  }
  std::sort(eligible.begin(), eligible.end());
  eligible.erase(std::unique(eligible.begin(), eligible.end()), eligible.end());
  if (eligible.size() < expect) {
    d.status = "waiting: " + std::to_string(eligible.size()) + " of " + std::to_string(expect) +
               " agents with --bootstrap-expect " + std::to_string(expect) + " in view";
    return d;
  }
  eligible.resize(expect);
  d.publish = eligible;
  if (!std::binary_search(eligible.begin(), eligible.end(), self)) {
    d.status = "not among the " + std::to_string(expect) + " lowest ids: waiting to be added";
    return d;
  }
  // Form only when every candidate publishes exactly this set: then all of
  // them decide the same, and nobody outside it believes otherwise.
  size_t agree = 0;
  for (const NodeId& c : eligible) {
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const BootstrapPeer& p) { return p.id == c; });
    if (c == self || (it != members.end() && it->candidates == eligible)) ++agree;
  }
  if (agree < eligible.size()) {
    d.status = "waiting: " + std::to_string(agree) + " of " + std::to_string(expect) +
               " candidates publish the same set";
    return d;
  }
  d.form = true;
  d.voters = eligible;
  d.cluster_id = cluster_id_for(eligible);
  d.status = "forming cluster " + d.cluster_id.substr(0, 8) + " with " + std::to_string(expect) +
             " voters";
  return d;
}

std::vector<BootstrapPeer> bootstrap_view(std::span<const gossip::Member> members,
                                          const NodeId& self, uint32_t expect,
                                          const std::string& own_cluster_id) {
  std::vector<BootstrapPeer> view;
  for (const gossip::Member& m : members) {
    const bool alive =
        m.status == gossip::MemberStatus::kAlive || m.status == gossip::MemberStatus::kSuspect;
    if (!alive) continue;
    BootstrapPeer b;
    b.id = m.id;
    b.cluster_id = m.meta.cluster_id;
    b.has_state = !m.meta.cluster_id.empty() || m.meta.role == "voter" || m.meta.role == "learner";
    for (const std::string& tag : m.meta.tags) {
      auto parsed = parse_bootstrap_tag(tag);
      if (!parsed.is_ok()) continue;
      b.expect = parsed->first;
      b.candidates = parsed->second;
    }
    if (m.id == self) {
      b.expect = expect;
      b.has_state = !own_cluster_id.empty();
      b.cluster_id = own_cluster_id;
    }
    view.push_back(std::move(b));
  }
  return view;
}

bool cluster_in_view(std::span<const BootstrapPeer> view) {
  return std::any_of(view.begin(), view.end(),
                     [](const BootstrapPeer& b) { return b.has_state || !b.cluster_id.empty(); });
}

std::string bootstrap_tag_to_publish(uint32_t expect, bool cluster_seen,
                                     const BootstrapDecision& decision) {
  if (expect == 0 || cluster_seen) return std::string();
  return format_bootstrap_tag(expect, decision.publish);
}

std::string format_bootstrap_tag(uint32_t expect, const std::vector<NodeId>& candidates) {
  std::string out(kTagPrefix);
  out += std::to_string(expect);
  out += ':';
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) out += ',';
    out += candidates[i].to_string();
  }
  return out;
}

Result<std::pair<uint32_t, std::vector<NodeId>>> parse_bootstrap_tag(std::string_view tag) {
  if (!tag.starts_with(kTagPrefix)) return Status::not_found("not a bootstrap tag");
  tag.remove_prefix(kTagPrefix.size());
  const size_t colon = tag.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 1) {
    return Status::invalid_argument("bootstrap tag: expected N:ids with N in 1..9");
  }
  const uint32_t n = static_cast<uint32_t>(tag[0] - '0');
  if (tag[0] < '1' || tag[0] > '9' || n > kMaxExpect) {
    return Status::invalid_argument("bootstrap tag: N must be 1..9");
  }
  std::vector<NodeId> ids;
  std::string_view rest = tag.substr(colon + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    auto id = NodeId::parse(rest.substr(0, comma));
    if (!id) return Status::invalid_argument("bootstrap tag: " + id.status().message());
    if (!ids.empty() && !(ids.back() < *id)) {
      return Status::invalid_argument("bootstrap tag: ids must be sorted and unique");
    }
    ids.push_back(*id);
    if (ids.size() > n) return Status::invalid_argument("bootstrap tag: more ids than N");
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return Status::invalid_argument("bootstrap tag: trailing comma");
  }
  return std::make_pair(n, std::move(ids));
}

}  // namespace shoal::node
