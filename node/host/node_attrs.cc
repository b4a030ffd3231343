#include "node/host/node_attrs.h"

#include <algorithm>
#include <charconv>

namespace shoal::node {

bool is_valid_attr_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxAttrKeyBytes) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_valid_attr_value(std::string_view value) {
  if (value.size() > kMaxAttrValueBytes) return false;
  // Printable ASCII or UTF-8 bytes; no control characters.
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

Result<std::pair<std::string, std::string>> parse_attr(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Status::invalid_argument("\"" + std::string(text) + "\" is not KEY=VALUE");
  }
  const std::string_view key = text.substr(0, eq);
  const std::string_view value = text.substr(eq + 1);
  if (!is_valid_attr_key(key)) {
    return Status::invalid_argument("attribute key \"" + std::string(key) +
                                    "\" must be 1-64 letters, digits, '.', '_' or '-'");
  }
  if (!is_valid_attr_value(value)) {
    return Status::invalid_argument("value of attribute \"" + std::string(key) +
                                    "\" must be at most 256 printable characters");
  }
  return std::make_pair(std::string(key), std::string(value));
}

Result<ResourceSpec> parse_resources(std::string_view text) {
  ResourceSpec spec;
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument("\"" + std::string(text) + "\" is not cpu=MHZ,memory=MB (" +
                                    std::string(why) + ")");
  };
  if (text.empty()) return bad("empty");
  for (size_t start = 0, comma = 0; comma != std::string_view::npos; start = comma + 1) {
    comma = text.find(',', start);
    const std::string_view part = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.empty()) return bad("empty part");
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) return bad("\"" + std::string(part) + "\" has no '='");
    const std::string_view name = part.substr(0, eq);
    const std::string_view digits = part.substr(eq + 1);
    uint32_t value = 0;
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || ec != std::errc() || ptr != end || value == 0) {
      return bad(std::string(name) + " must be a positive integer");
    }
    std::optional<uint32_t>* slot = nullptr;
    if (name == "cpu") {
      slot = &spec.cpu_mhz;
    } else if (name == "memory") {
      slot = &spec.memory_mb;
    } else {
      return bad("unknown resource \"" + std::string(name) + "\"");
    }
    if (slot->has_value()) return bad(std::string(name) + " given twice");
    *slot = value;
  }
  return spec;
}

}  // namespace shoal::node
