// Gossip's families for GET /v1/metrics: rejected packets by reason, members
// by status, Lifeguard health, traffic on the wire, and the core's protocol
// counters (gossip::Stats).
#pragma once

#include "node/http/metrics_text.h"
#include "node/membership/gossip_host.h"
#include "node/net/gossip_channel.h"

namespace shoal::node {

void write_gossip_metrics(MetricsText& out, const GossipHost& host, const GossipChannel& channel);

// The resident set size of this process, from /proc/self/statm (0 if unknown).
uint64_t resident_memory_bytes();

}  // namespace shoal::node
