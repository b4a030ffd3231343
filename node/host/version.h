// The Shoal release version ("0.1.0"), taken from the top-level CMake
// project() so that `shoal --version`, /v1/agent/self and the logs agree.
#pragma once

#include <string_view>

namespace shoal {

std::string_view version();

}  // namespace shoal
