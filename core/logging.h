// Logging setup on spdlog. Text lines for people, or one JSON object per line
// (--log-json) for collectors: {"ts":"...","level":"info","msg":"..."}.
// Logs go to stderr so that CLI output on stdout stays machine-readable.
#pragma once

#include <string_view>

#include "core/status.h"

namespace shoal {

// level: trace, debug, info, warn, error or off. Replaces the default logger.
Status setup_logging(std::string_view level, bool json);

}  // namespace shoal
