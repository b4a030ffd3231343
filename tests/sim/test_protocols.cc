#include "tests/sim/test_protocols.h"

#include <algorithm>

#include "core/msg_types.h"
#include "core/wire.h"

namespace shoal::sim::proto {

std::vector<uint8_t> encode_ping_wire(const Ping& p) {
  return wire::encode_envelope(MsgType::kTestPing, wire::kProtocolVersion, [&](wire::Packer& pk) {
    pk.pack_array(2);
    pk.pack_uint8(static_cast<uint8_t>(p.type));
    pk.pack_uint32(p.seq);
  });
}

Ping decode_ping_wire(const std::vector<uint8_t>& bytes) {
  Result<wire::Envelope> env = wire::decode_envelope(bytes, wire::DecodeLimits::packet());
  SHOAL_CHECK_MSG(env.is_ok(), env.status().to_string().c_str());
  SHOAL_CHECK(env->type() == MsgType::kTestPing);
  Result<wire::FieldReader> body = wire::FieldReader::open(env->body(), "test_ping");
  SHOAL_CHECK(body.is_ok());
  uint8_t type = 0;
  uint32_t seq = 0;
  Status st = body->uint(0, type);
  if (st.is_ok()) st = body->uint(1, seq);
  SHOAL_CHECK_MSG(st.is_ok(), st.to_string().c_str());
  SHOAL_CHECK(type == Ping::kPing || type == Ping::kPong);
  return Ping{static_cast<Ping::Type>(type), seq};
}

Overlay ring_overlay(uint32_t nodes, uint32_t chords, uint64_t seed) {
  Overlay g(nodes);
  auto link = [&](NodeIndex a, NodeIndex b) {
    if (a == b) return;
    g[a].push_back(b);
    g[b].push_back(a);
  };
  for (NodeIndex i = 0; i + 1 < nodes; ++i) link(i, i + 1);
  if (nodes > 2) link(nodes - 1, 0);
  Rng rng(seed);
  for (NodeIndex i = 0; i < nodes; ++i) {
    for (uint32_t c = 0; c < chords; ++c) link(i, static_cast<NodeIndex>(rng.uniform(nodes)));
  }
  for (auto& n : g) {
    std::sort(n.begin(), n.end());
    n.erase(std::unique(n.begin(), n.end()), n.end());
  }
  return g;
}

size_t FloodLedger::reached() const {
  return static_cast<size_t>(
      std::count_if(nodes.begin(), nodes.end(), [](const Node& n) { return n.has; }));
}

void FloodProcess::start(Context<FloodMsg>& ctx) {
  acked_.assign(neighbours(ctx).size(), false);
  if (ctx.self() != opt_->origin) return;
  std::vector<uint8_t> payload(opt_->payload_bytes);
  for (uint8_t& b : payload) b = static_cast<uint8_t>(ctx.rng().next_u64());
  auto packet =
      std::make_shared<const FloodPacket>(FloodPacket{FloodPacket::kData, 1, std::move(payload)});
  accept(ctx, ctx.self(), packet);
}

void FloodProcess::accept(Context<FloodMsg>& ctx, NodeIndex from, const FloodMsg& packet) {
  packet_ = packet;
  FloodLedger::Node& l = opt_->ledger->nodes[ctx.self()];
  if (!l.has) {
    l.has = true;
    l.first_at = ctx.now();
    l.first_from = from;
    l.packet = packet.get();
  }
  // Forward the very same object: copies of a shared_ptr, not of the payload.
  for (NodeIndex nb : neighbours(ctx)) {
    if (nb != from) ctx.send(nb, packet_);
  }
}

void FloodProcess::mark_acked(Context<FloodMsg>& ctx, NodeIndex peer) {
  const auto& nbs = neighbours(ctx);
  auto it = std::lower_bound(nbs.begin(), nbs.end(), peer);
  if (it != nbs.end() && *it == peer) acked_[static_cast<size_t>(it - nbs.begin())] = true;
}

void FloodProcess::tick(Context<FloodMsg>& ctx) {
  if (!opt_->retry || !packet_) return;
  const auto& nbs = neighbours(ctx);
  for (size_t i = 0; i < nbs.size(); ++i) {
    if (!acked_[i]) ctx.send(nbs[i], packet_);
  }
}

void FloodProcess::receive(Context<FloodMsg>& ctx, NodeIndex from, const FloodMsg& msg) {
  ctx.trace((static_cast<uint64_t>(msg->kind) << 32) | from);
  if (msg->kind == FloodPacket::kAck) {
    mark_acked(ctx, from);
    return;
  }
  ++opt_->ledger->nodes[ctx.self()].data_receipts;
  // Whoever sent us the packet has it.
  mark_acked(ctx, from);
  if (opt_->retry) {
    if (!ack_) {
      ack_ = std::make_shared<const FloodPacket>(FloodPacket{FloodPacket::kAck, msg->id, {}});
    }
    ctx.send(from, ack_);
  }
  if (!packet_) accept(ctx, from, msg);
}

}  // namespace shoal::sim::proto
