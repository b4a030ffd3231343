#include "node/http/keyring_http.h"

#include <nlohmann/json.hpp>
#include <string>

#include "node/host/keyring_file.h"

namespace shoal::node {

std::variant<KeyringRequest, HttpResponse> parse_keyring_post(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return HttpResponse::error(400,
                               "the body must be a JSON object {\"op\", \"key\" or \"key_id\"}");
  }
  std::optional<KeyringOp> op;
  if (j.contains("op") && j["op"].is_string()) op = parse_keyring_op(j["op"].get<std::string>());
  if (!op || *op == KeyringOp::kList) {
    return HttpResponse::error(400, "\"op\" must be install, use or remove", "op");
  }
  if (*op == KeyringOp::kInstall) {
    if (!j.contains("key") || !j["key"].is_string()) {
      return HttpResponse::error(400, "\"key\" must be a base64 cluster key", "key");
    }
    auto key = crypto::ClusterKey::from_base64(j["key"].get<std::string>());
    if (!key.is_ok()) return HttpResponse::error(400, key.status().message(), "key");
    return KeyringRequest::install(*key);
  }
  if (j.contains("key")) {
    return HttpResponse::error(
        400,
        std::string(keyring_op_name(*op)) +
            " names the key by its id (\"key_id\", from GET /v1/keyring), not by the key itself",
        "key");
  }
  std::optional<uint32_t> id;
  if (j.contains("key_id") && j["key_id"].is_string()) {
    id = parse_key_id_hex(j["key_id"].get<std::string>());
  }
  if (!id) {
    return HttpResponse::error(400, "\"key_id\" must be a key id of 8 hex digits", "key_id");
  }
  return *op == KeyringOp::kUse ? KeyringRequest::use(*id) : KeyringRequest::remove(*id);
}

}  // namespace shoal::node
