#include "node/host/keyring_file.h"

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "node/host/atomic_file.h"

namespace shoal::node {
namespace {

constexpr size_t kMaxKeyringBytes = 64 << 10;
constexpr size_t kMaxKeys = 64;

Status corrupt(std::string_view source, std::string_view why) {
  return Status::decode(std::string(source) + " is not a keyring (" + std::string(why) + ")");
}

Result<crypto::Keyring> from_keys(const std::vector<crypto::ClusterKey>& keys, size_t primary,
                                  std::string_view source) {
  crypto::Keyring ring(keys[primary]);
  for (const auto& k : keys) {
    if (Status st = ring.install(k); !st.is_ok()) return corrupt(source, st.message());
  }
  return ring;
}

Result<crypto::Keyring> decode_lines(std::string_view text, std::string_view source) {
  std::vector<crypto::ClusterKey> keys;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto key = crypto::ClusterKey::from_base64(line);
    if (!key.is_ok()) {
      return corrupt(source, "line " + std::to_string(line_no) + ": " + key.status().message());
    }
    keys.push_back(*key);
    if (keys.size() > kMaxKeys) return corrupt(source, "more than 64 keys");
  }
  if (keys.empty()) return corrupt(source, "no key in it");
  return from_keys(keys, 0, source);
}

}  // namespace

std::string key_id_hex(uint32_t key_id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", key_id);
  return buf;
}

std::optional<uint32_t> parse_key_id_hex(std::string_view text) {
  uint32_t id = 0;
  if (text.size() != 8) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return id;
}

std::string encode_keyring(const crypto::Keyring& keyring) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : keyring.keys()) keys.push_back(k.to_base64());
  nlohmann::json j = {{"primary", keyring.primary().to_base64()}, {"keys", keys}};
  return j.dump(2) + "\n";
}

Result<crypto::Keyring> decode_keyring(std::string_view text, std::string_view source) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return decode_lines(text, source);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt(source, "malformed JSON");
  if (!j.contains("primary") || !j["primary"].is_string()) {
    return corrupt(source, "\"primary\" must be a base64 key");
  }
  auto primary = crypto::ClusterKey::from_base64(j["primary"].get<std::string>());
  if (!primary.is_ok()) return corrupt(source, "primary: " + primary.status().message());
  std::vector<crypto::ClusterKey> keys{*primary};
  if (j.contains("keys")) {
    if (!j["keys"].is_array() || j["keys"].size() > kMaxKeys) {
      return corrupt(source, "\"keys\" must be an array of at most 64 base64 keys");
    }
    for (const auto& item : j["keys"]) {
      if (!item.is_string()) return corrupt(source, "\"keys\" must hold strings");
      auto key = crypto::ClusterKey::from_base64(item.get<std::string>());
      if (!key.is_ok()) return corrupt(source, "keys: " + key.status().message());
      keys.push_back(*key);
    }
  }
  return from_keys(keys, 0, source);
}

Result<std::optional<crypto::Keyring>> load_keyring(const std::filesystem::path& path) {
  auto text = read_small_file(path, kMaxKeyringBytes);
  if (!text.is_ok()) return text.status();
  if (!text->has_value()) return std::optional<crypto::Keyring>();
  auto ring = decode_keyring(**text, path.string());
  if (!ring.is_ok()) return ring.status();
  return std::optional<crypto::Keyring>(std::move(*ring));
}

Status save_keyring(const std::filesystem::path& path, const crypto::Keyring& keyring) {
  return write_file_atomic(path, encode_keyring(keyring), 0600);
}

}  // namespace shoal::node
