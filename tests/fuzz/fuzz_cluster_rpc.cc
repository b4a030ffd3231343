// Fuzzes the decoders of the agents' forward and follow RPC messages
// (node/cluster/cluster_rpc.h) with a peer's bytes: a frame's envelope, without its
// channel tag. Each decoder gets the whole input; nothing may crash, and
// whatever decodes must re-encode to a frame with the right tag whose
// envelope decodes to the same value.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "node/cluster/cluster_rpc.h"

namespace {

using namespace shoal::node;

std::span<const uint8_t> envelope_of(const std::vector<uint8_t>& frame, uint8_t tag) {
  if (frame.empty() || frame[0] != tag) std::abort();
  return std::span<const uint8_t>(frame).subspan(1);
}

bool same(const FollowResponse& a, const FollowResponse& b) {
  return a.id == b.id && a.error == b.error && a.cluster_id == b.cluster_id &&
         a.leader == b.leader && a.term == b.term && a.commit == b.commit && a.conf == b.conf &&
         a.has_snapshot == b.has_snapshot && a.snapshot_meta == b.snapshot_meta &&
         a.snapshot_size == b.snapshot_size && a.snapshot_offset == b.snapshot_offset &&
         a.snapshot_chunk == b.snapshot_chunk && a.entries == b.entries;
}

// Invariants every decoded value holds.
void check(const ForwardRequest& m) {
  if (m.target.empty() || m.target[0] != '/') std::abort();
}
void check(const ForwardResponse& m) {
  if (m.status < 100 || m.status > 599) std::abort();
}
void check(const FollowRequest&) {}
void check(const FollowResponse& m) {
  for (size_t i = 1; i < m.entries.size(); ++i) {
    if (m.entries[i].index.value() != m.entries[i - 1].index.value() + 1) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  if (auto m = decode_forward_request(bytes); m.is_ok()) {
    check(*m);
    auto again = decode_forward_request(envelope_of(encode_frame(*m), kForwardRpcChannel));
    if (!again.is_ok() || !(*again == *m)) std::abort();
  }
  if (auto m = decode_forward_response(bytes); m.is_ok()) {
    check(*m);
    auto again = decode_forward_response(envelope_of(encode_frame(*m), kForwardRpcChannel));
    if (!again.is_ok() || !(*again == *m)) std::abort();
  }
  if (auto m = decode_follow_request(bytes); m.is_ok()) {
    check(*m);
    auto again = decode_follow_request(envelope_of(encode_frame(*m), kFollowRpcChannel));
    if (!again.is_ok() || !(*again == *m)) std::abort();
  }
  if (auto m = decode_follow_response(bytes); m.is_ok()) {
    check(*m);
    auto again = decode_follow_response(envelope_of(encode_frame(*m), kFollowRpcChannel));
    if (!again.is_ok() || !same(*again, *m)) std::abort();
  }
  return 0;
}
