#include "node/http/cluster_views.h"

#include <span>

#include "node/http/blocking_query.h"
#include "scheduler/cluster_state.h"

namespace shoal::node {

using nlohmann::json;

HttpResponse render_status(const StatusView& v) {
  return HttpResponse::json(200, {
                                     {"cluster_id", v.cluster_id},
                                     {"leader", v.leader},
                                     {"leader_name", v.leader_name},
                                     {"term", v.term},
                                     {"commit_index", v.commit_index},
                                     {"applied_index", v.applied_index},
                                     {"role", v.role},
                                     {"members_alive", v.members_alive},
                                     {"voters", v.voters},
                                     {"bootstrap", v.bootstrap},
                                     {"upgrade_required", v.upgrade_required},
                                     {"nodes", v.nodes},
                                     {"jobs", 0},
                                     {"allocs_running", 0},
                                 });
}

json raft_peers_json(const PeersView& v) {
  auto list = [](const std::vector<PeerView>& peers) {
    json out = json::array();
    for (const PeerView& p : peers) {
      out.push_back({{"id", p.id},
                     {"name", p.name},
                     {"address", p.address},
                     {"zone", p.zone},
                     {"alive", p.alive}});
    }
    return out;
  };
  return {{"leader", v.leader},
          {"leader_name", v.leader_name},
          {"voters", list(v.voters)},
          {"learners", list(v.learners)},
          {"observers", list(v.observers)}};
}

std::variant<std::string, HttpResponse> parse_transfer_body(const std::string& body) {
  if (body.empty()) return std::string();
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || (j.contains("to") && !j["to"].is_string())) {
    return HttpResponse::error(400, "the body must be {\"to\": \"NODE\"}", "to");
  }
  return j.contains("to") ? j["to"].get<std::string>() : std::string();
}

std::optional<HttpResponse> check_restore_body(const std::string& body) {
  if (body.size() > scheduler::kMaxRestoreBytes) {
    return HttpResponse::error(413, "a snapshot to restore is at most 8 MiB");
  }
  const std::span<const uint8_t> image(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (auto check = scheduler::ClusterState::restore(image); !check) {
    return HttpResponse::error(400, "not a Shoal snapshot: " + check.status().message(), "body");
  }
  return std::nullopt;
}

HttpResponse render_snapshot(const std::vector<uint8_t>& image, uint64_t index) {
  HttpResponse out;
  out.content_type = "application/octet-stream";
  out.body.assign(image.begin(), image.end());
  return with_index(std::move(out), index);
}

HttpResponse render_restored(uint64_t index) {
  return with_index(HttpResponse::json(200, {{"restored", true}, {"index", index}}), index);
}

}  // namespace shoal::node
