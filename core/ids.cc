#include "core/ids.h"

#include "core/rng.h"

namespace shoal {

NodeId::NodeId(uint64_t hi, uint64_t lo) {
  for (int i = 0; i < 8; ++i) {
    bytes_[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    bytes_[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
}

NodeId NodeId::random(Rng& rng) {
  uint64_t hi = rng.next_u64();
  uint64_t lo = rng.next_u64();
  return NodeId(hi, lo);
}

Result<NodeId> NodeId::parse(std::string_view hex) {
  if (hex.size() != 2 * kBytes) {
    return Status::invalid_argument("node id must be 32 hex digits, got " +
                                    std::to_string(hex.size()) + " characters");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes b{};
  for (size_t i = 0; i < kBytes; ++i) {
    int h = nibble(hex[2 * i]);
    int l = nibble(hex[2 * i + 1]);
    if (h < 0 || l < 0) return Status::invalid_argument("node id has a non-hex character");
    b[i] = static_cast<uint8_t>(h << 4 | l);
  }
  return NodeId(b);
}

uint64_t NodeId::hi() const {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | bytes_[i];
  return v;
}

uint64_t NodeId::lo() const {
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = v << 8 | bytes_[i];
  return v;
}

bool NodeId::is_zero() const { return hi() == 0 && lo() == 0; }

std::string NodeId::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * kBytes, '0');
  for (size_t i = 0; i < kBytes; ++i) {
    s[2 * i] = kHex[bytes_[i] >> 4];
    s[2 * i + 1] = kHex[bytes_[i] & 0xf];
  }
  return s;
}

std::string NodeId::short_string() const { return to_string().substr(0, 8); }

}  // namespace shoal
