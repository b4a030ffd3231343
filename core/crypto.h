// libsodium wrappers: the cluster key, the keyring, and sealed gossip packets.
//
// Every gossip packet is encrypted and authenticated with XChaCha20-Poly1305
// (IETF) under the keyring's primary key. The packet layout is
//
//   offset size  field
//   0      1     packet format version (kPacketVersion)
//   1      4     key id (big endian; which keyring key sealed it)
//   5      16    sender node id
//   21     8     sender boot epoch (big endian)
//   29     8     packet counter within that epoch (big endian)
//   37     24    random nonce
//   61     n+16  ciphertext and Poly1305 tag
//
// The associated data is "shoal", the cluster label, and bytes 0..37 (version,
// key id, sender, epoch, counter), so a packet cannot be re-labelled, moved to
// another cluster or given another sender without failing authentication.
// Replay rules (DESIGN.md §8): per sender the receiver keeps the newest epoch
// and a sliding window of counters; older epochs and repeated counters are
// rejected, a restarted sender (higher epoch) is accepted.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/replay_guard.h"
#include "core/status.h"

namespace shoal::crypto {

// Calls sodium_init() once; aborts if libsodium cannot initialise.
void init();

// Cryptographically random bytes from libsodium (the OS CSPRNG). Only hosts
// (node/, cli/) use this; protocol cores take an Rng.
void random_bytes(std::span<uint8_t> out);
NodeId generate_node_id();

// A 32-byte symmetric cluster key. Its id is the first 4 bytes of a BLAKE2b
// hash of the key, so receivers pick the key without trial decryption.
class ClusterKey {
 public:
  static constexpr size_t kBytes = 32;
  using Bytes = std::array<uint8_t, kBytes>;

  static ClusterKey generate();
  static ClusterKey from_bytes(const Bytes& b);
  // Standard base64 with padding, exactly 32 bytes once decoded.
  static Result<ClusterKey> from_base64(std::string_view text);

  ClusterKey(const ClusterKey&) = default;
  ClusterKey& operator=(const ClusterKey&) = default;
  ~ClusterKey();

  std::string to_base64() const;
  uint32_t id() const { return id_; }
  const Bytes& bytes() const { return bytes_; }
  bool operator==(const ClusterKey& o) const { return id_ == o.id_ && bytes_ == o.bytes_; }

 private:
  explicit ClusterKey(const Bytes& b);
  Bytes bytes_{};
  uint32_t id_ = 0;
};

// Several keys: all open, only the primary seals. install adds, use makes one
// primary, remove drops one (never the primary). Rotation: install the new key
// everywhere, use it, and remove the old one once every node has moved.
class Keyring {
 public:
  explicit Keyring(ClusterKey primary);

  // Idempotent; a different key with a colliding id is refused.
  Status install(const ClusterKey& key);
  Status use(uint32_t key_id);
  Status remove(uint32_t key_id);

  const ClusterKey& primary() const { return keys_.front(); }
  const ClusterKey* find(uint32_t key_id) const;
  // Primary first, then the others in installation order.
  const std::vector<ClusterKey>& keys() const { return keys_; }

 private:
  std::vector<ClusterKey> keys_;  // keys_[0] is the primary
};

inline constexpr uint8_t kPacketVersion = 1;
inline constexpr size_t kPacketHeaderBytes = 61;
inline constexpr size_t kPacketOverhead = kPacketHeaderBytes + 16;

// Seals packets for one sender during one boot epoch. The counter starts at 0
// and increases by one per packet; the epoch must be raised at every start.
class PacketSealer {
 public:
  PacketSealer(std::string cluster_label, NodeId sender, uint64_t boot_epoch);
  std::vector<uint8_t> seal(const Keyring& keyring, std::span<const uint8_t> plaintext);
  uint64_t next_counter() const { return counter_; }

 private:
  std::string cluster_label_;
  NodeId sender_;
  uint64_t epoch_;
  uint64_t counter_ = 0;
};

struct OpenedPacket {
  NodeId sender;
  uint64_t epoch = 0;
  uint64_t counter = 0;
  uint32_t key_id = 0;
  std::vector<uint8_t> plaintext;
};

// Opens packets from any sender and enforces the replay rules. The returned
// Status code says why a packet was dropped: kDecode (too short, unknown
// version), kAuth (unknown key id, wrong key, tampered, wrong cluster label),
// kReplay (older epoch or repeated counter).
class PacketOpener {
 public:
  explicit PacketOpener(std::string cluster_label,
                        size_t max_senders = ReplayGuard::kDefaultMaxSenders);
  Result<OpenedPacket> open(const Keyring& keyring, std::span<const uint8_t> packet);
  const ReplayGuard& replay_guard() const { return guard_; }

 private:
  std::string cluster_label_;
  ReplayGuard guard_;
};

}  // namespace shoal::crypto
