// Cluster-wide keyring operations (POST /v1/keyring, GET /v1/keyring) ride on
// gossip queries named "keyring": the origin broadcasts a request, every
// member applies it to its own keyring, persists it, and answers with the
// outcome and the key ids it now holds. This file is the payload codec
// (msgpack positional arrays, DESIGN.md §8) and the apply step.
//
//   request  [version=1, op: uint (0 list, 1 install, 2 use, 3 remove), key: bin(32) or bin(0)]
//   reply    [ok: bool, error: str, primary: uint32, key_ids: [uint32...]]
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
  std::optional<crypto::ClusterKey> key;  // every op but list
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
// may be retried), but remove of the primary fails.
KeyringReply apply_keyring_request(crypto::Keyring& keyring, const KeyringRequest& request,
                                   bool* changed);

}  // namespace shoal::node
