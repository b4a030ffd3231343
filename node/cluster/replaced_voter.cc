// replaced_by_cluster: see replaced_voter.h.
#include "node/cluster/replaced_voter.h"

namespace shoal::node {

std::optional<std::string> replaced_by_cluster(const LogPosition& self,
                                               const ClusterReport& report) {
  if (report.leader.is_zero() || report.responder != report.leader) return std::nullopt;
  if (report.term < self.term || !report.conf_committed) return std::nullopt;
  if (report.conf.voters.empty() || report.conf.contains(self.self)) return std::nullopt;
  if (report.commit <= self.last_index) return std::nullopt;
  return "the leader " + report.leader.short_string() + " (term " + std::to_string(report.term) +
         ") committed a configuration without this agent, up to index " +
         std::to_string(report.commit) + ", past this agent's last entry " +
         std::to_string(self.last_index);
}

bool LeaderlessProbe::due(TimePoint now, bool leader_known) {
  if (leader_known) {
    since_.reset();
    return false;
  }
  if (!since_) since_ = now;
  if (now - *since_ < kLeaderlessProbeAfter) return false;
  if (last_ && now - *last_ < kLeaderlessProbeEvery) return false;
  last_ = now;
  return true;
}

}  // namespace shoal::node
