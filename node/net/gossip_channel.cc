#include "node/net/gossip_channel.h"

namespace shoal::node {

const char* reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kAuth:
      return "auth";
    case RejectReason::kReplay:
      return "replay";
    case RejectReason::kDecode:
      return "decode";
  }
  return "decode";
}

crypto::ClusterKey GossipChannel::insecure_key() { return crypto::ClusterKey::from_bytes({}); }

GossipChannel::GossipChannel(crypto::Keyring keyring, bool insecure, std::string cluster_label,
                             NodeId self, uint64_t boot_epoch)
    : keyring_(insecure ? crypto::Keyring(insecure_key()) : std::move(keyring)),
      insecure_(insecure),
      sealer_(cluster_label, self, boot_epoch),
      opener_(cluster_label) {}

std::vector<uint8_t> GossipChannel::seal(std::span<const uint8_t> plaintext) {
  return sealer_.seal(keyring_, plaintext);
}

Result<crypto::OpenedPacket> GossipChannel::open(std::span<const uint8_t> sealed) {
  auto opened = opener_.open(keyring_, sealed);
  if (!opened.is_ok()) count_reject(opened.status().code());
  return opened;
}

void GossipChannel::count_reject(StatusCode code) {
  RejectReason reason = RejectReason::kDecode;
  if (code == StatusCode::kAuth) reason = RejectReason::kAuth;
  if (code == StatusCode::kReplay) reason = RejectReason::kReplay;
  ++rejected_[static_cast<size_t>(reason)];
}

}  // namespace shoal::node
