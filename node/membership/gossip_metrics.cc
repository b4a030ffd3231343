#include "node/membership/gossip_metrics.h"

#include <unistd.h>

#include <array>
#include <fstream>

namespace shoal::node {

uint64_t resident_memory_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  if (!(in >> size >> resident)) return 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  return resident * static_cast<uint64_t>(page > 0 ? page : 4096);
}

void write_gossip_metrics(MetricsText& out, const GossipHost& host, const GossipChannel& channel) {
  const auto& core = host.core();
  const auto& stats = core.stats();
  const auto& wire = host.transport_stats();

  out.family("shoal_gossip_packets_rejected_total", "counter",
             "Gossip packets and stream frames dropped: auth (wrong key, tampered, wrong "
             "cluster label), replay (repeated counter or older boot epoch), decode (malformed)");
  for (RejectReason r : kRejectReasons) {
    out.sample("shoal_gossip_packets_rejected_total", {{"reason", reject_reason_name(r)}},
               static_cast<double>(channel.rejected(r)));
  }

  std::array<size_t, 4> by_status{};
  for (const auto& m : core.members()) ++by_status.at(static_cast<size_t>(m.status));
  out.family("shoal_gossip_members", "gauge", "Known members (this node included) by status");
  for (auto s : {gossip::MemberStatus::kAlive, gossip::MemberStatus::kSuspect,
                 gossip::MemberStatus::kDead, gossip::MemberStatus::kLeft}) {
    out.sample("shoal_gossip_members", {{"status", gossip::status_name(s)}},
               static_cast<double>(by_status.at(static_cast<size_t>(s))));
  }
  out.gauge("shoal_gossip_health_score",
            "Lifeguard local health awareness (0 = healthy; higher stretches probe timing)",
            core.health_score());
  out.gauge("shoal_gossip_incarnation", "This node's incarnation number",
            static_cast<double>(core.self().incarnation));
  out.gauge("shoal_gossip_broadcasts_pending", "Membership updates still to be retransmitted",
            static_cast<double>(core.broadcasts_pending()));

  out.counter("shoal_gossip_packets_sent_total", "UDP datagrams sent",
              static_cast<double>(wire.udp_packets_sent));
  out.counter("shoal_gossip_packets_received_total",
              "UDP datagrams received (rejected ones included)",
              static_cast<double>(wire.udp_packets_received));
  out.counter("shoal_gossip_bytes_sent_total", "Sealed UDP bytes sent",
              static_cast<double>(wire.udp_bytes_sent));
  out.counter("shoal_gossip_bytes_received_total", "Sealed UDP bytes received",
              static_cast<double>(wire.udp_bytes_received));
  out.counter("shoal_gossip_send_errors_total", "UDP datagrams the kernel refused to send",
              static_cast<double>(wire.udp_send_errors));
  out.family("shoal_gossip_streams_total", "counter",
             "TCP streams: outgoing by result, incoming accepted or refused (at the cap, none "
             "evictable)");
  out.sample("shoal_gossip_streams_total", {{"direction", "out"}, {"result", "ok"}},
             static_cast<double>(wire.streams_out_ok));
  out.sample("shoal_gossip_streams_total", {{"direction", "out"}, {"result", "error"}},
             static_cast<double>(wire.streams_out_failed));
  out.sample("shoal_gossip_streams_total", {{"direction", "in"}, {"result", "accepted"}},
             static_cast<double>(wire.streams_in));
  out.sample("shoal_gossip_streams_total", {{"direction", "in"}, {"result", "refused"}},
             static_cast<double>(wire.streams_in_refused));
  out.counter("shoal_gossip_streams_evicted_total",
              "Incoming streams still reading their request, closed at the stream cap to admit "
              "a newer one (the one silent longest)",
              static_cast<double>(wire.streams_in_evicted));
  out.counter("shoal_gossip_streams_over_budget_total",
              "Incoming streams closed because unauthenticated requests held the most bytes "
              "allowed",
              static_cast<double>(wire.streams_in_over_budget));
  out.counter("shoal_gossip_accept_errors_total",
              "Failed accept() calls on the gossip TCP port (e.g. out of file descriptors)",
              static_cast<double>(wire.accept_errors));
  out.gauge("shoal_gossip_stream_unauthenticated_bytes",
            "Bytes held by incoming streams whose request is not yet read and authenticated",
            static_cast<double>(wire.unauthenticated_bytes));
  out.family("shoal_gossip_stream_bytes_total", "counter", "Sealed TCP stream bytes");
  out.sample("shoal_gossip_stream_bytes_total", {{"direction", "out"}},
             static_cast<double>(wire.stream_bytes_sent));
  out.sample("shoal_gossip_stream_bytes_total", {{"direction", "in"}},
             static_cast<double>(wire.stream_bytes_received));

  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } counters[] = {
      {"shoal_gossip_messages_sent_total", "Gossip messages sent by the core", stats.packets_sent},
      {"shoal_gossip_messages_received_total", "Gossip messages accepted by the core",
       stats.packets_received},
      {"shoal_gossip_message_bytes_sent_total", "Plaintext bytes the core sent", stats.bytes_sent},
      {"shoal_gossip_probes_total", "Direct probes sent", stats.probes_sent},
      {"shoal_gossip_indirect_probes_total", "Indirect probe requests sent",
       stats.indirect_probes_sent},
      {"shoal_gossip_fallback_probes_total", "TCP fallback probes", stats.fallback_probes},
      {"shoal_gossip_acks_received_total", "Probe acks received", stats.acks_received},
      {"shoal_gossip_nacks_received_total", "Indirect probe nacks received", stats.nacks_received},
      {"shoal_gossip_suspicions_total", "Suspicions raised by this node", stats.suspicions_raised},
      {"shoal_gossip_refutations_total", "Suspicions of this node it refuted", stats.refutations},
      {"shoal_gossip_deaths_declared_total", "Members this node declared dead",
       stats.deaths_declared},
      {"shoal_gossip_push_pulls_total", "Push-pull state syncs", stats.push_pulls},
      {"shoal_gossip_flaps_total", "Members that went dead and came back alive", stats.flaps},
  };
  for (const auto& c : counters) out.counter(c.name, c.help, static_cast<double>(c.value));

  out.gauge("shoal_keyring_keys", "Keys installed in this node's keyring",
            static_cast<double>(channel.insecure() ? 0 : channel.keyring().keys().size()));
  out.gauge("process_resident_memory_bytes", "Resident memory of the agent",
            static_cast<double>(resident_memory_bytes()));
}

}  // namespace shoal::node
