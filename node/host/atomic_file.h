// Small durable files in the data dir (node id, boot epoch, later the cluster
// id): bounded whole-file reads, and atomic replacement — write a temporary
// file, fsync it, rename it over the target, fsync the directory — so that a
// crash leaves either the old or the new contents, never a torn file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace shoal::node {

// The whole file, or nullopt when it does not exist. A file larger than
// max_bytes, or one that cannot be read, is an error.
[[nodiscard]] Result<std::optional<std::string>> read_small_file(const std::filesystem::path& path,
                                                                 size_t max_bytes);

// Replaces path with contents atomically and durably (see above). The file
// gets the given permission bits.
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path, std::string_view contents,
                                       mode_t mode = 0600);

}  // namespace shoal::node
