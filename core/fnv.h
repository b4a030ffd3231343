// Fnv1a: a 64-bit FNV-1a hash fed field by field, for state hashes that must
// be equal on every replica and stable across builds and platforms (integers
// are mixed as 8 little-endian bytes, strings with their length first). Not
// for anything an attacker chooses to collide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace shoal {

class Fnv1a {
 public:
  void bytes(const void* data, size_t n) {
    const auto* b = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= b[i];
      h_ *= kPrime;
    }
  }
  void u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    bytes(b, 8);
  }
  // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
  void str(std::string_view s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  void bin(std::span<const uint8_t> b) {
    u64(b.size());
    bytes(b.data(), b.size());
  }
  uint64_t value() const { return h_; }

 private:
  static constexpr uint64_t kOffset = 1469598103934665603ULL;
  static constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t h_ = kOffset;
};

}  // namespace shoal
