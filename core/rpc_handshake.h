// The handshake that opens an RPC stream between two agents, and the
// encrypted channel it yields (DESIGN.md §8; docs/rpc-handshake.md has the
// protocol and its threat model). Pure message processing: the caller moves
// the bytes (one frame each) over its TCP connection.
//
//   initiator                                   responder
//   hello    = [v, label, id_i, key_id, epk_i, nonce_i]   ->
//            <-  welcome = [v, id_r, key_id, epk_r, nonce_r, header_r, mac_r]
//   confirm  = [header_i, mac_i]                          ->
//
// epk_* are fresh crypto_kx key pairs. Both MACs are keyed BLAKE2b with a key
// derived (crypto_kdf) from the cluster key named by key_id, over the whole
// transcript: a party without that key can neither answer nor confirm, and
// nothing of one handshake can be replayed into another (fresh ephemeral
// keys and nonces on both sides). Session keys are the crypto_kx keys mixed
// with a second derived key and the transcript, one per direction; each
// direction is a crypto_secretstream (header_* above), which rejects
// tampered, replayed, reordered and truncated frames.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/status.h"

namespace shoal {

using crypto::ClusterKey;
using crypto::Keyring;

inline constexpr uint8_t kRpcHandshakeVersion = 1;

// One direction-pair of crypto_secretstream: seal() what we send, open()
// what we receive, in order. Any failure of open() is final for the stream
// (the caller closes the connection).
class SecureChannel {
 public:
  // Frames up to this many plaintext bytes.
  static constexpr size_t kMaxFrame = 16u << 20;

  std::vector<uint8_t> seal(std::span<const uint8_t> plaintext);
  Result<std::vector<uint8_t>> open(std::span<const uint8_t> ciphertext);
  const NodeId& peer() const { return peer_; }
  uint32_t key_id() const { return key_id_; }

 private:
  friend class RpcInitiator;
  friend class RpcResponder;
  SecureChannel() = default;
  crypto_secretstream_xchacha20poly1305_state tx_{};
  crypto_secretstream_xchacha20poly1305_state rx_{};
  bool failed_ = false;
  NodeId peer_;
  uint32_t key_id_ = 0;
};

// The connecting side.
class RpcInitiator {
 public:
  // Uses the keyring's primary key. `label` is --cluster-label.
  RpcInitiator(const Keyring& keyring, const NodeId& self, std::string label);
  ~RpcInitiator();
  std::vector<uint8_t> hello();
  // Checks the responder's answer; on success returns the confirm frame to
  // send and the channel. Errors: kDecode (malformed), kAuth (wrong key,
  // tampered transcript, another label).
  struct Done {
    std::vector<uint8_t> confirm;
    std::unique_ptr<SecureChannel> channel;
  };
  Result<Done> on_welcome(std::span<const uint8_t> welcome);

 private:
  Keyring keyring_;
  NodeId self_;
  std::string label_;
  std::array<uint8_t, crypto_kx_PUBLICKEYBYTES> epk_{};
  std::array<uint8_t, crypto_kx_SECRETKEYBYTES> esk_{};
  std::vector<uint8_t> hello_;
};

// The accepting side.
class RpcResponder {
 public:
  // Accepts hellos sealed with any installed key.
  RpcResponder(const Keyring& keyring, const NodeId& self, std::string label);
  ~RpcResponder();
  // Returns the welcome frame. Errors: kDecode, kAuth (unknown key id,
  // another label, our own id).
  Result<std::vector<uint8_t>> on_hello(std::span<const uint8_t> hello);
  // Checks the initiator's confirmation; returns the channel.
  Result<std::unique_ptr<SecureChannel>> on_confirm(std::span<const uint8_t> confirm);

 private:
  Keyring keyring_;
  NodeId self_;
  std::string label_;
  std::array<uint8_t, 32> transcript_{};
  std::array<uint8_t, 32> mac_key_{};
  std::array<uint8_t, 32> c2s_{};  // the initiator's stream key, until its header comes
  std::unique_ptr<SecureChannel> pending_;
  bool hello_seen_ = false;
};

}  // namespace shoal
