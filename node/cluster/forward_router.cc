// ForwardRouter: see forward_router.h.
#include "node/cluster/forward_router.h"

#include "node/cluster/cluster_rpc.h"

namespace shoal::node {

bool LeaderView::usable(const NodeId& avoid) const {
  if (leads) return avoid != self;
  return !leader.is_zero() && leader != self && leader != avoid && reachable;
}

ForwardRoute route_forward(uint8_t hops, const LeaderView& v) {
  using Kind = ForwardRoute::Kind;
  if (hops >= kMaxForwardHops)
    return {Kind::kUnavailable, "leadership is changing; retry shortly", {}};
  // Only the agent the client asked waits for a leader; one that was
  // forwarded the request answers at once and lets that agent wait.
  auto no_leader = [hops](std::string why, NodeId avoid) {
    if (hops == 0) return ForwardRoute{Kind::kWait, std::move(why), avoid};
    return ForwardRoute{Kind::kUnavailable, std::move(why), {}};
  };
  if (v.leader.is_zero()) return no_leader("no Raft leader is known right now; retry shortly", {});
  if (v.leader == v.self) return no_leader("leadership is changing; retry shortly", v.self);
  if (!v.reachable) {
    return no_leader("the leader's RPC address is not known yet; retry shortly", {});
  }
  return {Kind::kSend, {}, {}};
}

}  // namespace shoal::node
