// POST /v1/keyring's body (DESIGN.md §4): what the keyring API accepts.
//
//   {"op": "install", "key": "<base64 key>"}
//   {"op": "use",     "key_id": "1a2b3c4d"}
//   {"op": "remove",  "key_id": "1a2b3c4d"}
//
// Only install carries key material; use and remove name the key by the id
// that GET /v1/keyring lists, and a "key" given with them is refused, so a
// key never has to be typed or sent twice. Pure: no agent, no sockets.
#pragma once

#include <string_view>
#include <variant>

#include "node/http/http_router.h"
#include "node/membership/keyring_query.h"

namespace shoal::node {

// The request to run cluster-wide, or the 400 to answer (naming the field).
std::variant<KeyringRequest, HttpResponse> parse_keyring_post(std::string_view body);

}  // namespace shoal::node
