#include "gossip/config.h"

#include <string>

namespace shoal::gossip {

// lan: memberlist's published LAN defaults (probe 1 s / 500 ms, 3 indirect
// checks, gossip every 200 ms to 3, push-pull every 30 s, suspicion 4x).
Config Config::lan() { return Config{}; }

// wan: long round trips and lossier paths. Probes are slower and more
// patient, the suspicion multiplier higher, gossip goes to one more member.
Config Config::wan() {
  Config c;
  c.probe_interval = std::chrono::seconds(5);
  c.probe_timeout = std::chrono::seconds(3);
  c.gossip_interval = std::chrono::milliseconds(500);
  c.gossip_nodes = 4;
  c.push_pull_interval = std::chrono::seconds(60);
  c.suspicion_mult = 6;
  c.gossip_to_the_dead = std::chrono::seconds(60);
  c.reconnect_interval = std::chrono::seconds(60);
  c.join_retry_max = std::chrono::seconds(60);
  return c;
}

// local: one host or a fast test network. Short timeouts, one indirect
// check, few retransmits: failures are found in a few seconds.
Config Config::local() {
  Config c;
  c.probe_interval = std::chrono::milliseconds(500);
  c.probe_timeout = std::chrono::milliseconds(200);
  c.indirect_checks = 1;
  c.gossip_interval = std::chrono::milliseconds(100);
  c.push_pull_interval = std::chrono::seconds(15);
  c.retransmit_mult = 2;
  c.suspicion_mult = 3;
  c.gossip_to_the_dead = std::chrono::seconds(15);
  c.reconnect_interval = std::chrono::seconds(10);
  c.join_retry_max = std::chrono::seconds(5);
  return c;
}

Result<Config> Config::profile(std::string_view name) {
  if (name == "lan") return lan();
  if (name == "wan") return wan();
  if (name == "local") return local();
  return Status::invalid_argument("unknown gossip profile '" + std::string(name) +
                                  "' (expected lan, wan or local)");
}

}  // namespace shoal::gossip
