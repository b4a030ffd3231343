// Fuzz target: the gossip core on arbitrary bytes -- Gossip::on_packet (UDP
// payloads), Gossip::on_stream (push-pull, join and fallback-probe frames),
// a stream reply, and Gossip::decode_members (the persisted list). Every
// input runs against a fresh core that already knows a few members, so the
// state machine behind the decoders runs too. Invariants: an input that is
// rejected changes nothing; the core's own encodings always decode.
#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"
#include "gossip/codec.h"
#include "gossip/gossip.h"

namespace {

using namespace shoal;
using namespace shoal::gossip;

NodeId nid(uint64_t i) { return NodeId(0xf022, i); }
Address addr(uint64_t i) { return Address{"10.0.0." + std::to_string(i), 7782}; }
NodeMeta meta(uint64_t i) {
  NodeMeta m;
  m.name = "n" + std::to_string(i);
  m.gossip = addr(i);
  m.attrs = {{"zone", "a"}};
  return m;
}

std::vector<uint8_t> known_members() {
  codec::PacketBuilder b(1 << 16);
  for (uint64_t i = 1; i <= 4; ++i) b.force(codec::encode(codec::Alive{i, nid(i), meta(i)}));
  b.force(codec::encode(codec::Suspect{2, nid(2), nid(3)}));
  return b.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> setup = known_members();
  const std::span<const uint8_t> input(data, size);
  const TimePoint now = time_at(std::chrono::seconds(50));
  Rng rng(size);
  Gossip g(Config::lan(), nid(0), meta(0), rng, now);
  SHOAL_CHECK(g.on_packet(now, addr(1), setup).is_ok());
  (void)g.take_ready();
  const size_t members = g.members().size();
  const uint64_t errors = g.stats().decode_errors;

  // 1. As a UDP payload.
  const Status st = g.on_packet(now, addr(1), input);
  if (!st.is_ok()) {
    SHOAL_CHECK(st.code() == StatusCode::kDecode);
    SHOAL_CHECK(g.stats().decode_errors == errors + 1);
    SHOAL_CHECK(g.members().size() == members);
    SHOAL_CHECK(g.take_ready().empty());
  }
  // Whatever the core sends in answer must decode.
  for (const Packet& p : g.take_ready().packets)
    SHOAL_CHECK(codec::decode_packet(p.payload).is_ok());

  // 2. As a stream request, then as the reply to a stream we opened.
  auto reply = g.on_stream(now, addr(2), input);
  if (reply.is_ok() && !reply->empty()) {
    SHOAL_CHECK(codec::decode_push_pull(*reply).is_ok() || codec::decode_packet(*reply).is_ok());
  }
  g.join(now, {addr(3)});
  for (const StreamRequest& s : g.take_ready().streams) {
    g.on_stream_reply(now, s.id, std::vector<uint8_t>(input.begin(), input.end()));
  }
  g.tick(now + std::chrono::seconds(5));
  for (const Packet& p : g.take_ready().packets)
    SHOAL_CHECK(codec::decode_packet(p.payload).is_ok());

  // 3. As a persisted member list; what decodes re-encodes and decodes the same.
  auto list = Gossip::decode_members(input);
  if (list.is_ok()) {
    auto again = Gossip::decode_members(Gossip::encode_members(*list));
    SHOAL_CHECK(again.is_ok() && again->size() == list->size());
    Gossip fresh(Config::lan(), nid(9), meta(9), rng, now);
    fresh.restore(now, *list);
  }
  return 0;
}
