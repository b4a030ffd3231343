// Two small protocols that exercise the simulator in its own tests:
//
//   PingProcess  -- every tick, send a numbered ping to a peer (a fixed one or
//                   one chosen by the node's Rng); answer every ping with a
//                   pong. Generic over the message representation through
//                   PingCodec, so one test can run it on structs, shared
//                   objects and bytes through the real wire codec, and
//                   compare the traces.
//   FloodProcess -- flooding broadcast of one shared immutable packet over an
//                   overlay (a ring plus random chords). With `retry`, nodes
//                   ack packets and re-send to unacked neighbours every tick,
//                   so the broadcast completes after a partition heals.
//
// What the processes observe goes into a ledger owned by the test, which
// survives crashes (the process objects do not).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "tests/sim/simulator.h"

namespace shoal::sim::proto {

// ---------------------------------------------------------------- ping/pong

struct Ping {
  enum Type : uint8_t { kPing = 1, kPong = 2 };
  Type type = kPing;
  uint32_t seq = 0;
  bool operator==(const Ping&) const = default;
};

// How a Ping travels as a Msg. Each specialisation has encode and decode.
template <class Msg>
struct PingCodec;

template <>
struct PingCodec<Ping> {
  static Ping encode(const Ping& p) { return p; }
  static Ping decode(const Ping& m) { return m; }
};

template <>
struct PingCodec<std::shared_ptr<const Ping>> {
  static std::shared_ptr<const Ping> encode(const Ping& p) {
    return std::make_shared<const Ping>(p);
  }
  static Ping decode(const std::shared_ptr<const Ping>& m) { return *m; }
};

// Bytes through the real wire codec (core/wire.h): the envelope
// [kTestPing, version, [type, seq]], decoded with the strict packet limits.
std::vector<uint8_t> encode_ping_wire(const Ping& p);
Ping decode_ping_wire(const std::vector<uint8_t>& bytes);  // aborts on bad bytes

template <>
struct PingCodec<std::vector<uint8_t>> {
  static std::vector<uint8_t> encode(const Ping& p) { return encode_ping_wire(p); }
  static Ping decode(const std::vector<uint8_t>& b) { return decode_ping_wire(b); }
};

struct PingLedger {
  struct Receipt {
    TimePoint local_time;
    NodeIndex from;
    Ping msg;
  };
  struct Node {
    uint64_t starts = 0;
    uint64_t ticks = 0;
    uint64_t pings_sent = 0;
    uint64_t pings_received = 0;
    uint64_t pongs_received = 0;
    std::vector<Receipt> receipts;  // filled when `record` is set
  };
  PingLedger(uint32_t nodes, bool record) : nodes(nodes), record(record) {}
  std::vector<Node> nodes;
  bool record;
};

struct PingOptions {
  PingLedger* ledger = nullptr;
  // targets[i]: the node that node i pings; nullopt (or no entry): a random
  // other node each tick. A node targeting itself does not ping.
  std::vector<std::optional<NodeIndex>> targets;
  bool answer = true;
};

template <class Msg>
class PingProcess : public Process<Msg> {
 public:
  explicit PingProcess(const PingOptions* options) : opt_(options) {}

  void start(Context<Msg>& ctx) override { ++log(ctx).starts; }

  void tick(Context<Msg>& ctx) override {
    ++log(ctx).ticks;
    const NodeIndex to = pick_target(ctx);
    if (to == ctx.self()) return;
    ++log(ctx).pings_sent;
    ctx.send(to, PingCodec<Msg>::encode(Ping{Ping::kPing, ++seq_}));
  }

  void receive(Context<Msg>& ctx, NodeIndex from, const Msg& msg) override {
    const Ping p = PingCodec<Msg>::decode(msg);
    // Content reaches the trace, so a codec bug changes the hash.
    ctx.trace((static_cast<uint64_t>(p.type) << 32) | p.seq);
    PingLedger::Node& l = log(ctx);
    if (opt_->ledger->record) l.receipts.push_back({ctx.now(), from, p});
    if (p.type == Ping::kPing) {
      ++l.pings_received;
      if (opt_->answer) ctx.send(from, PingCodec<Msg>::encode(Ping{Ping::kPong, p.seq}));
    } else {
      ++l.pongs_received;
    }
  }

 private:
  PingLedger::Node& log(Context<Msg>& ctx) { return opt_->ledger->nodes[ctx.self()]; }
  NodeIndex pick_target(Context<Msg>& ctx) {
    const NodeIndex self = ctx.self();
    if (self < opt_->targets.size() && opt_->targets[self]) return *opt_->targets[self];
    if (ctx.node_count() < 2) return self;
    const auto peer = static_cast<NodeIndex>(ctx.rng().uniform(ctx.node_count() - 1));
    return peer >= self ? peer + 1 : peer;
  }

  const PingOptions* opt_;
  uint32_t seq_ = 0;  // volatile: restarts from 0 after a crash
};

template <class Msg>
typename Simulator<Msg>::Factory ping_factory(const PingOptions* options) {
  return [options](NodeIndex) { return std::make_unique<PingProcess<Msg>>(options); };
}

// ---------------------------------------------------------------- flooding

struct FloodPacket {
  enum Kind : uint8_t { kData, kAck };
  Kind kind = kData;
  uint64_t id = 0;
  std::vector<uint8_t> payload;
};
using FloodMsg = std::shared_ptr<const FloodPacket>;

// Undirected neighbour lists, sorted.
using Overlay = std::vector<std::vector<NodeIndex>>;
// A ring (always connected) plus `chords` random links per node.
Overlay ring_overlay(uint32_t nodes, uint32_t chords, uint64_t seed);

struct FloodLedger {
  struct Node {
    bool has = false;
    TimePoint first_at{};
    NodeIndex first_from = 0;
    const FloodPacket* packet = nullptr;  // identity of the object received
    uint32_t data_receipts = 0;
  };
  explicit FloodLedger(uint32_t nodes) : nodes(nodes) {}
  size_t reached() const;
  std::vector<Node> nodes;
};

struct FloodOptions {
  const Overlay* overlay = nullptr;
  FloodLedger* ledger = nullptr;
  NodeIndex origin = 0;
  bool retry = false;
  size_t payload_bytes = 256;
};

class FloodProcess : public Process<FloodMsg> {
 public:
  explicit FloodProcess(const FloodOptions* options) : opt_(options) {}
  void start(Context<FloodMsg>& ctx) override;
  void tick(Context<FloodMsg>& ctx) override;
  void receive(Context<FloodMsg>& ctx, NodeIndex from, const FloodMsg& msg) override;

 private:
  const std::vector<NodeIndex>& neighbours(const Context<FloodMsg>& ctx) const {
    return (*opt_->overlay)[ctx.self()];
  }
  void accept(Context<FloodMsg>& ctx, NodeIndex from, const FloodMsg& packet);
  void mark_acked(Context<FloodMsg>& ctx, NodeIndex peer);

  const FloodOptions* opt_;
  FloodMsg packet_;
  FloodMsg ack_;
  std::vector<bool> acked_;  // parallel to neighbours()
};

inline Simulator<FloodMsg>::Factory flood_factory(const FloodOptions* options) {
  return [options](NodeIndex) { return std::make_unique<FloodProcess>(options); };
}

}  // namespace shoal::sim::proto
