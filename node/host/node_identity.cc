#include "node/host/node_identity.h"

#include <charconv>
#include <limits>
#include <string>

#include "core/crypto.h"
#include "node/host/atomic_file.h"

namespace shoal::node {
namespace {

// Both files are one short line; anything longer is not ours.
constexpr size_t kMaxFileBytes = 256;

// The file's text without one trailing newline (an editor may add it).
std::string_view strip_newline(std::string_view text) {
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  return text;
}

Status corrupt(const std::filesystem::path& path, std::string_view why, std::string_view fix) {
  return Status::decode(path.string() + " is corrupt (" + std::string(why) + "); " +
                        std::string(fix));
}

}  // namespace

Result<NodeId> load_or_create_node_id(const std::filesystem::path& data_dir, bool* created) {
  const auto path = data_dir / kNodeIdFile;
  if (created != nullptr) *created = false;
  auto text = read_small_file(path, kMaxFileBytes);
  constexpr std::string_view kFix =
      "restore it from a backup, or delete it to give this node a new identity";
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::kTooLarge) {
      return corrupt(path, "too large for a node id", kFix);
    }
    return text.status();
  }
  if (text->has_value()) {
    auto id = NodeId::parse(strip_newline(**text));
    if (!id.is_ok()) return corrupt(path, id.status().message(), kFix);
    if (id->is_zero()) return corrupt(path, "the all-zero id is not valid", kFix);
    return id;
  }
  NodeId id = crypto::generate_node_id();
  SHOAL_RETURN_IF_ERROR(write_file_atomic(path, id.to_string() + "\n"));
  if (created != nullptr) *created = true;
  return id;
}

Result<uint64_t> raise_boot_epoch(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kBootEpochFile;
  constexpr std::string_view kFix =
      "write a number above any epoch this node used before; peers reject packets from older "
      "epochs";
  auto text = read_small_file(path, kMaxFileBytes);
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::kTooLarge) {
      return corrupt(path, "too large for a counter", kFix);
    }
    return text.status();
  }
  uint64_t epoch = 0;
  if (text->has_value()) {
    const std::string_view digits = strip_newline(**text);
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, epoch);
    if (digits.empty() || ec != std::errc() || ptr != end) {
      return corrupt(path, "not a decimal counter", kFix);
    }
    if (epoch == std::numeric_limits<uint64_t>::max()) {
      return corrupt(path, "the counter is exhausted", kFix);
    }
  }
  ++epoch;
  SHOAL_RETURN_IF_ERROR(write_file_atomic(path, std::to_string(epoch) + "\n"));
  return epoch;
}

Result<NodeIdentity> load_identity(const std::filesystem::path& data_dir) {
  NodeIdentity identity;
  auto id = load_or_create_node_id(data_dir, &identity.created);
  if (!id.is_ok()) return id.status();
  identity.id = *id;
  auto epoch = raise_boot_epoch(data_dir);
  if (!epoch.is_ok()) return epoch.status();
  identity.boot_epoch = *epoch;
  return identity;
}

}  // namespace shoal::node
