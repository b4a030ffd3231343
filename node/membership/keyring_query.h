// Cluster-wide keyring operations (POST /v1/keyring, GET /v1/keyring) ride on
// gossip queries named "keyring": the origin broadcasts a request, every
// member applies it to its own keyring, persists it, and answers with the
// outcome and the key ids it now holds. This file is the payload codec
// (msgpack positional arrays, DESIGN.md §8) and the apply step.
//
//   request  [version=2, op: uint (0 list, 1 install, 2 use, 3 remove),
//             key: bin(32) for install, else bin(0), key_id: uint32 for use and remove]
//   reply    [ok: bool, error: str, primary: uint32, key_ids: [uint32...]]
//
// Only install carries key material: use and remove name the key by its id,
// so that no key travels (or is typed on a command line) more than once.
// Version 1 carried the key for use and remove too; it is no longer
// understood (Shoal is pre-release).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"

namespace shoal::node {

inline constexpr std::string_view kKeyringQuery = "keyring";

enum class KeyringOp : uint8_t { kList = 0, kInstall = 1, kUse = 2, kRemove = 3 };
// "list", "install", "use", "remove".
const char* keyring_op_name(KeyringOp op);
std::optional<KeyringOp> parse_keyring_op(std::string_view name);

struct KeyringRequest {
  KeyringOp op = KeyringOp::kList;
  std::optional<crypto::ClusterKey> key;  // install only
  uint32_t key_id = 0;                    // use and remove; install: key->id()

  static KeyringRequest list() { return {}; }
  static KeyringRequest install(const crypto::ClusterKey& key) {
    return {KeyringOp::kInstall, key, key.id()};
  }
  static KeyringRequest use(uint32_t key_id) { return {KeyringOp::kUse, std::nullopt, key_id}; }
  static KeyringRequest remove(uint32_t key_id) {
    return {KeyringOp::kRemove, std::nullopt, key_id};
  }
};

struct KeyringReply {
  bool ok = false;
  std::string error;
  uint32_t primary = 0;
  std::vector<uint32_t> key_ids;  // primary first
};

std::vector<uint8_t> encode_keyring_request(const KeyringRequest& request);
[[nodiscard]] Result<KeyringRequest> decode_keyring_request(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_keyring_reply(const KeyringReply& reply);
[[nodiscard]] Result<KeyringReply> decode_keyring_reply(std::span<const uint8_t> bytes);

// Applies the request to the keyring. *changed says whether it must be
// persisted. install of a key already there and use of the primary are no-ops
// that succeed; remove of a key that is not there succeeds too (the rotation
// may be retried), but remove of the primary fails, and so does use of a key
// id that is not installed.
KeyringReply apply_keyring_request(crypto::Keyring& keyring, const KeyringRequest& request,
                                   bool* changed);

}  // namespace shoal::node
