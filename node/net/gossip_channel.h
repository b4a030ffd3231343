// The encryption decorator between the gossip core and the sockets. Every UDP
// packet and every TCP stream frame is sealed with crypto::PacketSealer under
// the keyring's primary key (this run's boot epoch, one counter for both
// transports) and opened with crypto::PacketOpener, which enforces the replay
// rules. Whatever fails to open is dropped and counted by reason; the core
// never sees it.
//
// --insecure: the same format, sealed with the well-known all-zero key. It
// keeps the framing, the corruption check and the replay window, but proves
// nothing about the sender and hides nothing; secure and insecure agents
// cannot talk to each other (the key id differs, so it counts as "auth").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/status.h"

namespace shoal::node {

enum class RejectReason : uint8_t { kAuth = 0, kReplay = 1, kDecode = 2 };
inline constexpr std::array<RejectReason, 3> kRejectReasons = {
    RejectReason::kAuth, RejectReason::kReplay, RejectReason::kDecode};
// "auth", "replay", "decode": the metrics label.
const char* reject_reason_name(RejectReason reason);

class GossipChannel {
 public:
  // The key insecure agents seal with.
  static crypto::ClusterKey insecure_key();

  GossipChannel(crypto::Keyring keyring, bool insecure, std::string cluster_label, NodeId self,
                uint64_t boot_epoch);

  std::vector<uint8_t> seal(std::span<const uint8_t> plaintext);
  // The plaintext, or the reason it was dropped (already counted).
  [[nodiscard]] Result<crypto::OpenedPacket> open(std::span<const uint8_t> sealed);
  // Counts a drop decided elsewhere (the core could not decode a plaintext,
  // a frame was too large). Codes other than auth and replay count as decode.
  void count_reject(StatusCode code);

  bool insecure() const { return insecure_; }
  crypto::Keyring& keyring() { return keyring_; }
  const crypto::Keyring& keyring() const { return keyring_; }
  uint64_t rejected(RejectReason reason) const { return rejected_[static_cast<size_t>(reason)]; }

 private:
  crypto::Keyring keyring_;
  bool insecure_;
  crypto::PacketSealer sealer_;
  crypto::PacketOpener opener_;
  std::array<uint64_t, 3> rejected_{};
};

}  // namespace shoal::node
