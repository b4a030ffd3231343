#include "node/http/members_http.h"

#include "node/net/host_port.h"

namespace shoal::node {

using nlohmann::json;

json member_json(const gossip::Member& m) {
  json attrs = json::object();
  for (const auto& [k, v] : m.meta.attrs) attrs[k] = v;
  return {
      {"name", m.meta.name},
      {"id", m.id.to_string()},
      {"addr", m.meta.gossip.ip},
      {"port", m.meta.gossip.port},
      {"status", gossip::status_name(m.status)},
      {"incarnation", m.incarnation},
      {"attrs", attrs},
      {"tags", m.meta.tags},
      {"resources",
       {{"cpu_mhz", m.meta.resources.cpu_mhz}, {"memory_mb", m.meta.resources.memory_mb}}},
      {"ports",
       {{"gossip", m.meta.gossip.port},
        {"http", m.meta.http_port},
        {"rpc", m.meta.rpc_port},
        {"dns", m.meta.dns_port}}},
  };
}

std::variant<std::vector<gossip::Address>, HttpResponse> parse_join_body(const std::string& body,
                                                                         uint16_t default_port) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return HttpResponse::error(400, "the body must be a JSON object {\"addrs\": [...]}");
  }
  if (!j.contains("addrs") || !j["addrs"].is_array() || j["addrs"].empty()) {
    return HttpResponse::error(400, "\"addrs\" must be a non-empty array of addresses", "addrs");
  }
  if (j["addrs"].size() > kMaxJoinAddrs) {
    return HttpResponse::error(400, "at most 64 addresses", "addrs");
  }
  std::vector<gossip::Address> out;
  for (const auto& item : j["addrs"]) {
    if (!item.is_string()) return HttpResponse::error(400, "addresses are strings", "addrs");
    auto hp = parse_host_port(item.get<std::string>(), default_port);
    if (!hp.is_ok()) return HttpResponse::error(400, hp.status().message(), "addrs");
    auto ip = resolve_ip(hp->host);
    if (!ip.is_ok()) return HttpResponse::error(400, ip.status().message(), "addrs");
    out.push_back(gossip::Address{*ip, hp->port});
  }
  return out;
}

HttpResponse render_members(const std::vector<gossip::Member>& members) {
  json out = json::array();
  for (const auto& m : members) out.push_back(member_json(m));
  return HttpResponse::json(200, out);
}

}  // namespace shoal::node
