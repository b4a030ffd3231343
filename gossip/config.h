// Gossip timing and sizing. Profiles follow memberlist's published defaults
// (lan) and scale them for slower (wan) or faster (local, tests) networks.
#pragma once

#include <string_view>

#include "core/status.h"
#include "core/time.h"

namespace shoal::gossip {

struct Config {
  Duration probe_interval = std::chrono::seconds(1);
  Duration probe_timeout = std::chrono::milliseconds(500);
  int indirect_checks = 3;  // k members asked to probe for us
  Duration gossip_interval = std::chrono::milliseconds(200);
  int gossip_nodes = 3;  // fan-out per gossip round
  Duration push_pull_interval = std::chrono::seconds(30);
  int retransmit_mult = 4;             // λ in λ·log10(N+1) retransmits
  int suspicion_mult = 4;              // min = mult · log10(N) · probe_interval
  int suspicion_max_timeout_mult = 6;  // max = 6 · min
  int awareness_max_multiplier = 8;    // Lifeguard local health ceiling
  Duration gossip_to_the_dead = std::chrono::seconds(30);
  Duration reap_timeout = std::chrono::hours(24);          // forget dead/left members
  Duration reconnect_interval = std::chrono::seconds(30);  // retry dead/left members
  Duration join_retry_max = std::chrono::seconds(30);      // backoff ceiling for --join
  // Plaintext budget of one compound UDP packet: 1,400 bytes on the wire
  // minus the sealing overhead (crypto::kPacketOverhead = 77).
  size_t max_packet_bytes = 1400 - 77;
  bool lifeguard = true;  // false: plain SWIM (for comparisons only)

  static Config lan();
  static Config wan();
  static Config local();
  // "lan", "wan" or "local".
  static Result<Config> profile(std::string_view name);
};

}  // namespace shoal::gossip
