// GossipHarness: N gossip cores (gossip/gossip.h) on the deterministic
// simulator, wired the way node/ wires a real agent:
//   - every UDP packet is the core's real encoded payload (the codec runs on
//     every hop), sent through the lossy simulated network;
//   - a StreamRequest becomes a request message and a reply message sent
//     with Context::send_reliable (TCP does not lose data, but partitions,
//     crashes and latency still apply); a timer reports the stream's timeout
//     as an error;
//   - after every call into a core the glue drains take_ready() and arms one
//     timer at next_deadline().
//
// Node i has NodeId(i + 1, ...), address 10.a.b.c:7782 derived from i, and
// metadata with a zone attribute. Metadata is interned in one MetaPool
// shared by all cores (one thread), so 10,000 nodes x 10,000 members fit in
// memory.
//
// A ledger owned by the harness (it survives crashes) tracks, from the
// events, what every node believes about every other node, counts false
// suspicions and false deaths of nodes that are in fact up and have not left,
// and records when each node first saw the whole cluster alive.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "gossip/gossip.h"
#include "tests/sim/simulator.h"

namespace shoal::sim::gossip_sim {

// Sanitizer builds run simulations 5-10x slower; tests scale their biggest
// clusters and longest runs down there (memory errors do not need 1,000
// nodes to show).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SHOAL_GOSSIP_SIM_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SHOAL_GOSSIP_SIM_SANITIZED 1
#endif
#ifdef SHOAL_GOSSIP_SIM_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// What travels on the simulated network.
struct Wire {
  enum Kind : uint8_t { kPacket, kStreamRequest, kStreamReply };
  std::vector<uint8_t> bytes;
  uint64_t stream_id = 0;
  Kind kind = kPacket;
  bool ok = true;  // kStreamReply: false when the server refused the request
};

using GossipSimulator = Simulator<Wire>;

struct HarnessConfig {
  uint64_t seed = 1;
  uint32_t nodes = 10;
  gossip::Config gossip = gossip::Config::lan();
  LinkModel network;
  // Nodes the others join through (--join); they start the cluster.
  std::vector<NodeIndex> seeds = {0};
  // Node i (not a seed) calls join() at a seeded random time in
  // [0, join_spread]; seeds join each other at time 0.
  Duration join_spread = std::chrono::seconds(1);
  // Persist the member list to the node's SimDisk when the core asks, and
  // restore() it when the node restarts (costly at scale: off by default).
  bool persist = false;
  // Restarted nodes join their seeds again (an agent started with --join).
  bool rejoin_on_restart = true;
  // Warm start: every node but the last `late_joiners` boots already
  // knowing all the others (as after a push-pull with a node that knows the
  // whole cluster), so a 10,000-node cluster need not be built by a join
  // storm first. The late joiners join through the seeds at
  // late_join_start + k * late_join_gap.
  bool warm = false;
  uint32_t late_joiners = 0;
  Duration late_join_start = std::chrono::seconds(10);
  Duration late_join_gap = std::chrono::seconds(10);
};

// A node's view of one other node, as the ledger tracks it.
enum class Seen : uint8_t { kUnknown, kAlive, kSuspect, kDead, kLeft };

class GossipHarness {
 public:
  explicit GossipHarness(HarnessConfig config);
  ~GossipHarness();
  GossipHarness(const GossipHarness&) = delete;
  GossipHarness& operator=(const GossipHarness&) = delete;

  GossipSimulator& sim() { return *sim_; }
  const HarnessConfig& config() const { return config_; }
  uint32_t nodes() const { return config_.nodes; }

  static NodeId id_of(NodeIndex i);
  static std::optional<NodeIndex> index_of(const NodeId& id);
  static gossip::Address address_of(NodeIndex i);
  static std::optional<NodeIndex> index_of(const gossip::Address& addr);
  static gossip::NodeMeta meta_of(NodeIndex i);

  // The core of a node that is up (nullptr while it is down).
  gossip::Gossip* core(NodeIndex i);

  // ---- scripted actions (run from Simulator::at scripts or between runs) ----
  // Graceful leave; the node keeps running (so its goodbye drains).
  void leave(NodeIndex i);
  void crash(NodeIndex i);
  void restart(NodeIndex i);
  void update_meta(NodeIndex i, gossip::NodeMeta meta);

  // ---- the ledger ----
  Seen seen(NodeIndex observer, NodeIndex member) const {
    return static_cast<Seen>(view_[static_cast<size_t>(observer) * config_.nodes + member]);
  }
  // How many other nodes `observer` sees in each state.
  uint32_t count(NodeIndex observer, Seen s) const {
    return counts_[static_cast<size_t>(observer) * 5 + static_cast<size_t>(s)];
  }
  // Whether the node is up and has not left (what "healthy" means).
  bool healthy(NodeIndex i) const;
  bool has_left(NodeIndex i) const { return left_[i] != 0; }
  // The first time `observer` saw every other node alive (nullopt: never).
  std::optional<TimePoint> converged_at(NodeIndex observer) const;
  // Every node that is up sees every other healthy node alive (or, with
  // `allow_suspect`, at least suspect: under loss a suspicion may be in
  // flight at any moment), and every other node as not alive (dead, left or
  // gone).
  bool all_agree(bool allow_suspect = false) const;

  // When node i calls join() (its first boot).
  TimePoint join_at(NodeIndex i) const { return join_at_[i]; }

  // False positives about healthy nodes (up, not left). Event level: every
  // node that marks a healthy node suspect / dead counts. Raised: only the
  // node whose own probe (suspicion) or suspicion timeout (death) started
  // it -- the root causes.
  uint64_t false_suspicions() const { return false_suspicions_; }
  uint64_t false_deaths() const { return false_deaths_; }
  uint64_t false_suspicions_raised() const { return false_suspicions_raised_; }
  uint64_t false_deaths_declared() const { return false_deaths_declared_; }
  // Root-cause suspicions of healthy nodes, by the node that raised them
  // and by the node suspected.
  const std::vector<uint32_t>& false_suspicions_by() const { return raised_by_; }
  const std::vector<uint32_t>& false_suspicions_of() const { return raised_of_; }
  // Bytes carried over simulated streams (push-pull, join, fallback probes).
  uint64_t stream_bytes() const { return stream_bytes_; }
  // UDP payloads larger than Config::max_packet_bytes (must stay 0), and
  // the largest payload seen.
  uint64_t oversized_packets() const { return oversized_packets_; }
  size_t largest_packet() const { return largest_packet_; }
  // Extra observer for tests and benchmarks (called after the ledger).
  std::function<void(NodeIndex observer, const gossip::Event&, TimePoint)> on_event;
  // Sees every message a node receives, before its core does, and every
  // UDP packet a node sends (before the network may lose it).
  std::function<void(NodeIndex from, NodeIndex to, const Wire&)> on_receive;
  std::function<void(NodeIndex from, NodeIndex to, const Wire&)> on_send;
  // Sum of every live core's stats.
  gossip::Stats total_stats() const;
  // Stats of cores that crashed, accumulated.
  const gossip::Stats& crashed_stats() const { return crashed_stats_; }

 private:
  class Node;
  friend class Node;
  void record(NodeIndex observer, const gossip::Event& event, TimePoint now, uint64_t& raised,
              uint64_t& declared);
  const std::vector<uint8_t>& warm_frame();
  void set_seen(NodeIndex observer, NodeIndex member, Seen s);
  void reset_view(NodeIndex observer);

  HarnessConfig config_;
  std::shared_ptr<gossip::MetaPool> pool_;
  std::unique_ptr<GossipSimulator> sim_;
  std::vector<uint8_t> view_;     // nodes x nodes, Seen
  std::vector<uint32_t> counts_;  // nodes x 5
  std::vector<uint8_t> left_;
  std::vector<int64_t> converged_;  // ns, -1: never
  std::vector<TimePoint> join_at_;
  uint64_t false_suspicions_ = 0;
  uint64_t false_deaths_ = 0;
  uint64_t false_suspicions_raised_ = 0;
  uint64_t false_deaths_declared_ = 0;
  std::vector<uint32_t> raised_by_;
  std::vector<uint32_t> raised_of_;
  uint64_t stream_bytes_ = 0;
  uint64_t oversized_packets_ = 0;
  size_t largest_packet_ = 0;
  std::vector<uint8_t> warm_frame_;
  gossip::Stats crashed_stats_;
};

// Adds b's counters into a.
void add_stats(gossip::Stats& a, const gossip::Stats& b);

}  // namespace shoal::sim::gossip_sim
