// Fuzz target: everything an agent does with bytes from the network before
// trusting them — opening a sealed packet, and decoding an envelope and its
// positional fields. Also checks that seal/open round-trips any plaintext.
#include <algorithm>
#include <cstdint>
#include <span>

#include "core/crypto.h"
#include "core/wire.h"

namespace {

using shoal::crypto::ClusterKey;
using shoal::crypto::Keyring;
using shoal::crypto::PacketOpener;
using shoal::crypto::PacketSealer;

const Keyring& ring() {
  static const Keyring k = [] {
    ClusterKey::Bytes b;
    b.fill(0x5a);
    return Keyring(ClusterKey::from_bytes(b));
  }();
  return k;
}

// Walks every field of a decoded body with each accessor, so the type and
// range checks all run on hostile input.
void walk(const shoal::wire::FieldReader& r, int depth) {
  for (size_t i = 0; i < r.size() && i < 64; ++i) {
    uint64_t u;
    int64_t s;
    bool b;
    std::string str;
    std::vector<uint8_t> bin;
    shoal::NodeId id;
    r.u64(i, u).ignore();
    r.i64(i, s).ignore();
    r.boolean(i, b).ignore();
    r.str(i, str, 4096).ignore();
    r.bin(i, bin, 65536).ignore();
    r.node_id(i, id).ignore();
    shoal::wire::FieldReader inner;
    if (depth < 8 && r.array(i, inner, "inner").is_ok()) walk(inner, depth + 1);
  }
}

void decode(std::span<const uint8_t> bytes) {
  auto env = shoal::wire::decode_envelope(bytes, shoal::wire::DecodeLimits::packet());
  if (!env) return;
  (void)shoal::msg_type_name(env->type());
  auto r = shoal::wire::FieldReader::open(env->body(), "fuzz");
  if (r) walk(*r, 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // 1. Raw bytes as a sealed packet: must be rejected, never crash.
  PacketOpener opener("fuzz");
  auto forged = opener.open(ring(), input);
  SHOAL_CHECK_MSG(!forged.is_ok(), "unauthenticated bytes opened");
  // 2. Raw bytes as a plaintext envelope.
  decode(input);
  // 3. Seal the bytes and open them: exact round trip, then decode.
  static PacketSealer sealer("fuzz", shoal::NodeId(1, 2), 1);
  auto sealed = sealer.seal(ring(), input);
  auto opened = opener.open(ring(), sealed);
  SHOAL_CHECK(opened.is_ok());
  SHOAL_CHECK(opened->plaintext.size() == size &&
              std::equal(input.begin(), input.end(), opened->plaintext.begin()));
  decode(opened->plaintext);
  return 0;
}
