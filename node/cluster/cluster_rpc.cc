#include "node/cluster/cluster_rpc.h"

#include "core/msg_types.h"
#include "core/wire.h"
#include "raft/codec.h"

namespace shoal::node {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kMaxMethod = 16;
constexpr size_t kMaxTarget = 8 << 10;
constexpr size_t kMaxContentType = 256;
constexpr size_t kMaxHeaders = 32;
constexpr size_t kMaxHeaderBytes = 4 << 10;
constexpr size_t kMaxError = 1 << 10;
constexpr size_t kMaxClusterId = 64;
constexpr size_t kMaxEntries = 65536;
// Entries and snapshot chunks together stay under one RPC frame (16 MiB).
constexpr size_t kMaxFollowBytes = 15u << 20;

void pack_str(wire::Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_bin(wire::Packer& p, std::span<const uint8_t> b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

std::vector<uint8_t> with_tag(uint8_t tag, std::vector<uint8_t> envelope) {
  envelope.insert(envelope.begin(), tag);
  return envelope;
}

wire::DecodeLimits limits() {
  wire::DecodeLimits lim;
  lim.max_bytes = 16u << 20;
  lim.max_bin = kMaxFollowBytes;
  lim.max_str = kMaxForwardBody;
  lim.max_array = kMaxEntries + 16;
  lim.max_map = 0;
  lim.max_depth = 4;
  return lim;
}

// Opens the envelope of `type` and its body's fields.
Result<wire::FieldReader> open(std::span<const uint8_t> bytes, MsgType type, const char* what,
                               wire::Envelope& env) {
  auto decoded = wire::decode_envelope(bytes, limits());
  if (!decoded) return decoded.status();
  env = std::move(*decoded);
  if (env.type() != type) return Status::decode(std::string(what) + ": wrong envelope type");
  if (env.version() == 0) return Status::decode(std::string(what) + ": version 0");
  return wire::FieldReader::open(env.body(), what);
}

}  // namespace

std::vector<uint8_t> encode_frame(const ForwardRequest& m) {
  return with_tag(kForwardRpcChannel, wire::encode_envelope(MsgType::kRpcForwardRequest, kVersion,
                                                            [&](wire::Packer& p) {
                                                              p.pack_array(6);
                                                              p.pack_uint64(m.id);
                                                              p.pack_uint8(m.hops);
                                                              pack_str(p, m.method);
                                                              pack_str(p, m.target);
                                                              pack_str(p, m.body);
                                                              pack_str(p, m.content_type);
                                                            }));
}

std::vector<uint8_t> encode_frame(const ForwardResponse& m) {
  return with_tag(
      kForwardRpcChannel,
      wire::encode_envelope(MsgType::kRpcForwardResponse, kVersion, [&](wire::Packer& p) {
        p.pack_array(5);
        p.pack_uint64(m.id);
        p.pack_uint32(m.status);
        pack_str(p, m.content_type);
        pack_str(p, m.body);
        p.pack_array(static_cast<uint32_t>(2 * m.headers.size()));
        for (const auto& [k, v] : m.headers) {
          pack_str(p, k);
          pack_str(p, v);
        }
      }));
}

std::vector<uint8_t> encode_frame(const FollowRequest& m) {
  return with_tag(kFollowRpcChannel,
                  wire::encode_envelope(MsgType::kRpcFollowRequest, kVersion, [&](wire::Packer& p) {
                    p.pack_array(7);
                    p.pack_uint64(m.id);
                    p.pack_uint64(m.after);
                    p.pack_uint32(m.max_bytes);
                    p.pack_uint64(m.snapshot_index);
                    p.pack_uint64(m.snapshot_offset);
                    p.pack_uint32(m.wait_ms);
                    p.pack_uint64(m.term);
                  }));
}

std::vector<uint8_t> encode_frame(const FollowResponse& m) {
  return with_tag(
      kFollowRpcChannel,
      wire::encode_envelope(MsgType::kRpcFollowResponse, kVersion, [&](wire::Packer& p) {
        p.pack_array(14);
        p.pack_uint64(m.id);
        pack_str(p, m.error);
        pack_str(p, m.cluster_id);
        wire::pack_node_id(p, m.leader);
        p.pack_uint64(m.term);
        p.pack_uint64(m.commit);
        pack_bin(p, raft::codec::encode(m.conf));
        p.pack(m.has_snapshot);
        pack_bin(p, raft::codec::encode(m.snapshot_meta));
        p.pack_uint64(m.snapshot_size);
        p.pack_uint64(m.snapshot_offset);
        pack_bin(p, m.snapshot_chunk);
        p.pack_array(static_cast<uint32_t>(m.entries.size()));
        for (const raft::Entry& e : m.entries) pack_bin(p, raft::codec::encode(e));
        p.pack(m.conf_committed);
      }));
}

Result<ForwardRequest> decode_forward_request(std::span<const uint8_t> bytes) {
  wire::Envelope env;
  auto r = open(bytes, MsgType::kRpcForwardRequest, "forward_request", env);
  if (!r) return r.status();
  ForwardRequest m;
  SHOAL_RETURN_IF_ERROR(r->u64(0, m.id));
  SHOAL_RETURN_IF_ERROR(r->uint(1, m.hops));
  SHOAL_RETURN_IF_ERROR(r->str(2, m.method, kMaxMethod));
  SHOAL_RETURN_IF_ERROR(r->str(3, m.target, kMaxTarget));
  SHOAL_RETURN_IF_ERROR(r->str(4, m.body, kMaxForwardBody));
  SHOAL_RETURN_IF_ERROR(r->str(5, m.content_type, kMaxContentType));
  if (m.target.empty() || m.target.front() != '/') {
    return Status::decode("forward_request field 3: a target starts with '/'");
  }
  return m;
}

Result<ForwardResponse> decode_forward_response(std::span<const uint8_t> bytes) {
  wire::Envelope env;
  auto r = open(bytes, MsgType::kRpcForwardResponse, "forward_response", env);
  if (!r) return r.status();
  ForwardResponse m;
  SHOAL_RETURN_IF_ERROR(r->u64(0, m.id));
  SHOAL_RETURN_IF_ERROR(r->uint(1, m.status));
  if (m.status < 100 || m.status > 599) return Status::decode("forward_response: bad status");
  SHOAL_RETURN_IF_ERROR(r->str(2, m.content_type, kMaxContentType));
  SHOAL_RETURN_IF_ERROR(r->str(3, m.body, kMaxForwardBody));
  if (!r->has(4)) return Status::decode("forward_response field 4: missing");
  auto headers = wire::FieldReader::open(r->at(4), "forward_response.headers");
  if (!headers) return headers.status();
  if (headers->size() % 2 != 0 || headers->size() > 2 * kMaxHeaders) {
    return Status::decode("forward_response field 4: headers come in pairs, at most 32");
  }
  for (size_t i = 0; i < headers->size(); i += 2) {
    std::string k, v;
    SHOAL_RETURN_IF_ERROR(headers->str(i, k, kMaxHeaderBytes));
    SHOAL_RETURN_IF_ERROR(headers->str(i + 1, v, kMaxHeaderBytes));
    m.headers.emplace_back(std::move(k), std::move(v));
  }
  return m;
}

Result<FollowRequest> decode_follow_request(std::span<const uint8_t> bytes) {
  wire::Envelope env;
  auto r = open(bytes, MsgType::kRpcFollowRequest, "follow_request", env);
  if (!r) return r.status();
  FollowRequest m;
  SHOAL_RETURN_IF_ERROR(r->u64(0, m.id));
  SHOAL_RETURN_IF_ERROR(r->u64(1, m.after));
  SHOAL_RETURN_IF_ERROR(r->uint(2, m.max_bytes));
  SHOAL_RETURN_IF_ERROR(r->u64(3, m.snapshot_index));
  SHOAL_RETURN_IF_ERROR(r->u64(4, m.snapshot_offset));
  // Fields 5 and 6 came later: absent, the request is answered at once.
  if (r->has(5)) SHOAL_RETURN_IF_ERROR(r->uint(5, m.wait_ms));
  if (r->has(6)) SHOAL_RETURN_IF_ERROR(r->u64(6, m.term));
  return m;
}

Result<FollowResponse> decode_follow_response(std::span<const uint8_t> bytes) {
  wire::Envelope env;
  auto r = open(bytes, MsgType::kRpcFollowResponse, "follow_response", env);
  if (!r) return r.status();
  FollowResponse m;
  SHOAL_RETURN_IF_ERROR(r->u64(0, m.id));
  SHOAL_RETURN_IF_ERROR(r->str(1, m.error, kMaxError));
  SHOAL_RETURN_IF_ERROR(r->str(2, m.cluster_id, kMaxClusterId));
  SHOAL_RETURN_IF_ERROR(r->node_id(3, m.leader));
  SHOAL_RETURN_IF_ERROR(r->u64(4, m.term));
  SHOAL_RETURN_IF_ERROR(r->u64(5, m.commit));
  std::vector<uint8_t> buf;
  SHOAL_RETURN_IF_ERROR(r->bin(6, buf, kMaxFollowBytes));
  auto conf = raft::codec::decode_conf_state(buf);
  if (!conf) return conf.status();
  m.conf = std::move(*conf);
  SHOAL_RETURN_IF_ERROR(r->boolean(7, m.has_snapshot));
  SHOAL_RETURN_IF_ERROR(r->bin(8, buf, kMaxFollowBytes));
  auto meta = raft::codec::decode_snapshot_meta(buf);
  if (!meta) return meta.status();
  m.snapshot_meta = std::move(*meta);
  SHOAL_RETURN_IF_ERROR(r->u64(9, m.snapshot_size));
  SHOAL_RETURN_IF_ERROR(r->u64(10, m.snapshot_offset));
  SHOAL_RETURN_IF_ERROR(r->bin(11, m.snapshot_chunk, kMaxFollowBytes));
  if (m.has_snapshot && (m.snapshot_offset > m.snapshot_size ||
                         m.snapshot_chunk.size() > m.snapshot_size - m.snapshot_offset)) {
    return Status::decode("follow_response: snapshot chunk beyond the snapshot's size");
  }
  if (!r->has(12)) return Status::decode("follow_response field 12: missing");
  auto entries = wire::FieldReader::open(r->at(12), "follow_response.entries");
  if (!entries) return entries.status();
  if (entries->size() > kMaxEntries) return Status::decode("follow_response: too many entries");
  m.entries.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    SHOAL_RETURN_IF_ERROR(entries->bin(i, buf, kMaxFollowBytes));
    auto e = raft::codec::decode_entry(buf);
    if (!e) return e.status();
    if (!m.entries.empty() && (m.entries.back().index.value() == UINT64_MAX ||
                               e->index.value() != m.entries.back().index.value() + 1)) {
      return Status::decode("follow_response: entries are not consecutive");
    }
    m.entries.push_back(std::move(*e));
  }
  if (r->has(13)) SHOAL_RETURN_IF_ERROR(r->boolean(13, m.conf_committed));
  return m;
}

}  // namespace shoal::node
