#include "gossip/types.h"

namespace shoal::gossip {

std::string Address::to_string() const {
  // An IPv6 literal needs brackets so the port separator stays unambiguous.
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

const char* status_name(MemberStatus status) {
  switch (status) {
    case MemberStatus::kAlive:
      return "alive";
    case MemberStatus::kSuspect:
      return "suspect";
    case MemberStatus::kDead:
      return "dead";
    case MemberStatus::kLeft:
      return "left";
  }
  return "unknown";
}

}  // namespace shoal::gossip
