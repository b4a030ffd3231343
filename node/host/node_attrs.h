// Node attributes (--attr KEY=VALUE) and schedulable resources
// (--resources cpu=MHZ,memory=MB) as users write them: parsing and limits.
// Attributes travel in gossip metadata, so keys and values are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"

namespace shoal::node {

inline constexpr size_t kMaxAttrs = 64;
inline constexpr size_t kMaxAttrKeyBytes = 64;
inline constexpr size_t kMaxAttrValueBytes = 256;

// Keys: 1-64 of [A-Za-z0-9._-] ("zone", "kernel.version"). Values: up to 256
// printable characters, possibly empty.
bool is_valid_attr_key(std::string_view key);
bool is_valid_attr_value(std::string_view value);

// "zone=eu-1" -> {"zone", "eu-1"}. Errors name the problem, not the flag.
[[nodiscard]] Result<std::pair<std::string, std::string>> parse_attr(std::string_view text);

// --resources: "cpu=4000,memory=8192", either part optional; a part not given
// is left to detection.
struct ResourceSpec {
  std::optional<uint32_t> cpu_mhz;
  std::optional<uint32_t> memory_mb;
};
[[nodiscard]] Result<ResourceSpec> parse_resources(std::string_view text);

}  // namespace shoal::node
