#include "node/host/version.h"

#ifndef SHOAL_VERSION
#error "SHOAL_VERSION must be defined by the build (node/CMakeLists.txt)"
#endif

namespace shoal {

std::string_view version() { return SHOAL_VERSION; }

}  // namespace shoal
