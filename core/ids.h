// Identifiers. NodeId is the stable identity of an agent: 128 random bits
// generated once and kept in the data dir; addresses may change, the id does
// not. Strong<T, Tag> gives distinct integer types (Term, Index, ...) that do
// not silently convert into one another.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal {

class Rng;

// An integer with a type of its own: Strong<uint64_t, struct TermTag>.
template <class T, class Tag>
class Strong {
 public:
  using value_type = T;
  constexpr Strong() = default;
  constexpr explicit Strong(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const Strong&) const = default;
  constexpr Strong next() const { return Strong(v_ + 1); }

 private:
  T v_{};
};

class NodeId {
 public:
  static constexpr size_t kBytes = 16;
  using Bytes = std::array<uint8_t, kBytes>;

  constexpr NodeId() = default;
  explicit NodeId(const Bytes& b) : bytes_(b) {}
  NodeId(uint64_t hi, uint64_t lo);

  // A fresh id from the given generator (simulation), or from the OS CSPRNG
  // through libsodium (real agents; see crypto.h generate_node_id()).
  static NodeId random(Rng& rng);
  // Parses exactly 32 hex digits (either case).
  static Result<NodeId> parse(std::string_view hex);

  const Bytes& bytes() const { return bytes_; }
  uint64_t hi() const;
  uint64_t lo() const;
  bool is_zero() const;
  // 32 lower-case hex digits.
  std::string to_string() const;
  // First 8 hex digits, for logs and tables.
  std::string short_string() const;

  auto operator<=>(const NodeId&) const = default;

 private:
  Bytes bytes_{};
};

}  // namespace shoal

template <class T, class Tag>
struct std::hash<shoal::Strong<T, Tag>> {
  size_t operator()(const shoal::Strong<T, Tag>& s) const noexcept {
    return std::hash<T>{}(s.value());
  }
};

template <>
struct std::hash<shoal::NodeId> {
  size_t operator()(const shoal::NodeId& id) const noexcept {
    return static_cast<size_t>(id.hi() ^ (id.lo() * 0x9e3779b97f4a7c15ULL));
  }
};
