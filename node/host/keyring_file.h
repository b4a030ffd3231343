// The cluster keyring on disk. <data-dir>/keyring holds JSON
//   {"primary": "<base64 key>", "keys": ["<base64 key>", ...]}
// ("keys" includes the primary), written atomically with mode 0600 after
// every change. On restart the persisted keyring wins over --encrypt and
// --keyring-file, which only seed a data dir that has none. --keyring-file
// takes the same JSON, or plain text with one base64 key per line (the first
// is the primary), so `shoal keygen > key` makes a valid file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "core/status.h"

namespace shoal::node {

inline constexpr std::string_view kKeyringFile = "keyring";

std::string encode_keyring(const crypto::Keyring& keyring);
// `source` names the file in error messages.
[[nodiscard]] Result<crypto::Keyring> decode_keyring(std::string_view text,
                                                     std::string_view source);

// nullopt when the file does not exist.
[[nodiscard]] Result<std::optional<crypto::Keyring>> load_keyring(
    const std::filesystem::path& path);
[[nodiscard]] Status save_keyring(const std::filesystem::path& path,
                                  const crypto::Keyring& keyring);

// "1a2b3c4d": how key ids appear in logs and the API.
std::string key_id_hex(uint32_t key_id);
// The reverse: exactly 8 hex digits (either case); nullopt otherwise.
std::optional<uint32_t> parse_key_id_hex(std::string_view text);

}  // namespace shoal::node
