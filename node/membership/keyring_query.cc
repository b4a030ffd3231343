#include "node/membership/keyring_query.h"

#include "core/wire.h"
#include "node/host/keyring_file.h"

namespace shoal::node {
namespace {

constexpr uint64_t kRequestVersion = 2;
constexpr size_t kMaxErrorBytes = 1024;
constexpr size_t kMaxKeyIds = 64;

std::vector<uint8_t> to_bytes(const msgpack::sbuffer& buf) {
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  return {p, p + buf.size()};
}

}  // namespace

const char* keyring_op_name(KeyringOp op) {
  switch (op) {
    case KeyringOp::kList:
      return "list";
    case KeyringOp::kInstall:
      return "install";
    case KeyringOp::kUse:
      return "use";
    case KeyringOp::kRemove:
      return "remove";
  }
  return "unknown";
}

std::optional<KeyringOp> parse_keyring_op(std::string_view name) {
  for (auto op : {KeyringOp::kList, KeyringOp::kInstall, KeyringOp::kUse, KeyringOp::kRemove}) {
    if (name == keyring_op_name(op)) return op;
  }
  return std::nullopt;
}

std::vector<uint8_t> encode_keyring_request(const KeyringRequest& request) {
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  p.pack_array(4);
  p.pack_uint64(kRequestVersion);
  p.pack_uint8(static_cast<uint8_t>(request.op));
  if (request.key && request.op == KeyringOp::kInstall) {
    const auto& b = request.key->bytes();
    p.pack_bin(static_cast<uint32_t>(b.size()));
    p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
  } else {
    p.pack_bin(0);
  }
  p.pack_uint32(request.key ? request.key->id() : request.key_id);
  return to_bytes(buf);
}

Result<KeyringRequest> decode_keyring_request(std::span<const uint8_t> bytes) {
  auto handle = wire::decode(bytes, wire::DecodeLimits::packet());
  if (!handle.is_ok()) return handle.status();
  auto fields = wire::FieldReader::open(handle->get(), "keyring request");
  if (!fields.is_ok()) return fields.status();
  uint64_t version = 0;
  SHOAL_RETURN_IF_ERROR(fields->u64(0, version));
  if (version != kRequestVersion) {
    return Status::decode("keyring request version " + std::to_string(version) +
                          " is not understood");
  }
  uint8_t op = 0;
  SHOAL_RETURN_IF_ERROR(fields->uint(1, op));
  if (op > static_cast<uint8_t>(KeyringOp::kRemove)) {
    return Status::decode("keyring request: unknown op " + std::to_string(op));
  }
  KeyringRequest request;
  request.op = static_cast<KeyringOp>(op);
  std::vector<uint8_t> key;
  SHOAL_RETURN_IF_ERROR(fields->bin(2, key, crypto::ClusterKey::kBytes));
  if (key.size() == crypto::ClusterKey::kBytes) {
    crypto::ClusterKey::Bytes b;
    std::copy(key.begin(), key.end(), b.begin());
    request.key = crypto::ClusterKey::from_bytes(b);
  } else if (!key.empty()) {
    return Status::decode("keyring request: a key has 32 bytes");
  }
  SHOAL_RETURN_IF_ERROR(fields->uint(3, request.key_id));
  if (request.op == KeyringOp::kInstall) {
    if (!request.key) return Status::decode("keyring request: install needs a key");
    if (request.key->id() != request.key_id) {
      return Status::decode("keyring request: the key id does not match the key");
    }
  } else if (request.key) {
    return Status::decode("keyring request: only install carries a key");
  }
  return request;
}

std::vector<uint8_t> encode_keyring_reply(const KeyringReply& reply) {
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  p.pack_array(4);
  if (reply.ok) {
    p.pack_true();
  } else {
    p.pack_false();
  }
  const std::string error = reply.error.substr(0, kMaxErrorBytes);
  p.pack_str(static_cast<uint32_t>(error.size()));
  p.pack_str_body(error.data(), static_cast<uint32_t>(error.size()));
  p.pack_uint32(reply.primary);
  p.pack_array(static_cast<uint32_t>(reply.key_ids.size()));
  for (uint32_t id : reply.key_ids) p.pack_uint32(id);
  return to_bytes(buf);
}

Result<KeyringReply> decode_keyring_reply(std::span<const uint8_t> bytes) {
  auto handle = wire::decode(bytes, wire::DecodeLimits::packet());
  if (!handle.is_ok()) return handle.status();
  auto fields = wire::FieldReader::open(handle->get(), "keyring reply");
  if (!fields.is_ok()) return fields.status();
  KeyringReply reply;
  SHOAL_RETURN_IF_ERROR(fields->boolean(0, reply.ok));
  SHOAL_RETURN_IF_ERROR(fields->str(1, reply.error, kMaxErrorBytes));
  SHOAL_RETURN_IF_ERROR(fields->uint(2, reply.primary));
  wire::FieldReader ids;
  SHOAL_RETURN_IF_ERROR(fields->array(3, ids, "key_ids"));
  if (ids.size() > kMaxKeyIds) return Status::decode("keyring reply: too many key ids");
  for (size_t i = 0; i < ids.size(); ++i) {
    uint32_t id = 0;
    SHOAL_RETURN_IF_ERROR(ids.uint(i, id));
    reply.key_ids.push_back(id);
  }
  return reply;
}

KeyringReply apply_keyring_request(crypto::Keyring& keyring, const KeyringRequest& request,
                                   bool* changed) {
  *changed = false;
  KeyringReply reply;
  Status st;
  const uint32_t id = request.key ? request.key->id() : request.key_id;
  switch (request.op) {
    case KeyringOp::kList:
      break;
    case KeyringOp::kInstall:
      if (!request.key) {
        st = Status::invalid_argument("install needs a key");
        break;
      }
      *changed = keyring.find(id) == nullptr;
      st = keyring.install(*request.key);
      break;
    case KeyringOp::kUse:
      if (keyring.find(id) == nullptr) {
        st = Status::not_found("key " + key_id_hex(id) + " is not installed here");
        break;
      }
      *changed = keyring.primary().id() != id;
      st = keyring.use(id);
      break;
    case KeyringOp::kRemove:
      if (keyring.find(id) == nullptr) break;  // already gone
      st = keyring.remove(id);
      *changed = st.is_ok();
      break;
  }
  if (!st.is_ok()) *changed = false;
  reply.ok = st.is_ok();
  reply.error = st.message();
  reply.primary = keyring.primary().id();
  for (const auto& k : keyring.keys()) reply.key_ids.push_back(k.id());
  return reply;
}

}  // namespace shoal::node
