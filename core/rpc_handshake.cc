#include "core/rpc_handshake.h"

#include <cstring>

#include "core/msg_types.h"
#include "core/wire.h"

namespace shoal {

namespace {

using Key32 = std::array<uint8_t, 32>;
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "shoalrpc";
constexpr uint64_t kMacSubkey = 1;
constexpr uint64_t kMixSubkey = 2;
constexpr size_t kHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;

Key32 derive(const ClusterKey& key, uint64_t id) {
  Key32 out;
  crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, key.bytes().data());
  return out;
}

// BLAKE2b-256 over the parts, keyed when `key` is given.
Key32 blake(const Key32* key, std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key ? key->data() : nullptr, key ? key->size() : 0, 32);
  for (auto p : parts) crypto_generichash_update(&st, p.data(), p.size());
  Key32 out;
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::span<const uint8_t> str_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void pack_bin(wire::Packer& p, std::span<const uint8_t> b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

struct Welcome {
  NodeId id;
  uint32_t key_id = 0;
  Key32 epk{};
  Key32 nonce{};
  std::array<uint8_t, kHeaderBytes> header{};
  Key32 mac{};
};

std::vector<uint8_t> encode_welcome(const Welcome& w) {
  return wire::encode_envelope(MsgType::kRpcWelcome, kRpcHandshakeVersion, [&](wire::Packer& p) {
    p.pack_array(6);
    wire::pack_node_id(p, w.id);
    p.pack_uint32(w.key_id);
    pack_bin(p, w.epk);
    pack_bin(p, w.nonce);
    pack_bin(p, w.header);
    pack_bin(p, w.mac);
  });
}

wire::DecodeLimits limits() {
  wire::DecodeLimits l;
  l.max_bytes = 1024;
  l.max_str = 256;
  l.max_bin = 64;
  l.max_array = 16;
  l.max_map = 0;
  l.max_depth = 2;
  return l;
}

// A fixed-size bin field.
template <size_t N>
Status fixed(const wire::FieldReader& r, size_t i, std::array<uint8_t, N>& out) {
  std::vector<uint8_t> b;
  SHOAL_RETURN_IF_ERROR(r.bin(i, b, N));
  if (b.size() != N)
    return Status::decode("rpc handshake: field " + std::to_string(i) + " has the wrong size");
  std::memcpy(out.data(), b.data(), N);
  return Status::ok();
}

Result<wire::FieldReader> open_body(const wire::Envelope& env, MsgType type, const char* what) {
  if (env.type() != type) return Status::decode(std::string(what) + ": unexpected message type");
  if (env.version() != kRpcHandshakeVersion) {
    return Status::decode(std::string(what) + ": unsupported version " +
                          std::to_string(env.version()));
  }
  return wire::FieldReader::open(env.body(), what);
}

// Keys of one session: the crypto_kx keys mixed with a key derived from the
// cluster key and the handshake so far (defence in depth: a session key is
// never a function of the ephemeral exchange alone).
struct Directions {
  Key32 c2s;
  Key32 s2c;
};
Directions mix(const ClusterKey& key, const uint8_t* kx_c2s, const uint8_t* kx_s2c,
               const Key32& early) {
  const Key32 mk = derive(key, kMixSubkey);
  Directions d;
  d.c2s = blake(&mk, {str_bytes("c2s"), {kx_c2s, 32}, early});
  d.s2c = blake(&mk, {str_bytes("s2c"), {kx_s2c, 32}, early});
  sodium_memzero(const_cast<uint8_t*>(mk.data()), mk.size());
  return d;
}

// What both sides hash before the responder's stream header exists.
Key32 early_hash(std::string_view label, std::span<const uint8_t> hello, const Key32& epk_r,
                 const Key32& nonce_r) {
  return blake(nullptr, {str_bytes("shoal-rpc-v1"), str_bytes(label), hello, epk_r, nonce_r});
}

}  // namespace

// ---- SecureChannel ----

std::vector<uint8_t> SecureChannel::seal(std::span<const uint8_t> plaintext) {
  SHOAL_CHECK(plaintext.size() <= kMaxFrame);
  std::vector<uint8_t> out(plaintext.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long len = 0;
  crypto_secretstream_xchacha20poly1305_push(&tx_, out.data(), &len, plaintext.data(),
                                             plaintext.size(), nullptr, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  out.resize(len);
  return out;
}

Result<std::vector<uint8_t>> SecureChannel::open(std::span<const uint8_t> ciphertext) {
  if (failed_) return Status::auth("rpc channel: closed after an authentication failure");
  if (ciphertext.size() < crypto_secretstream_xchacha20poly1305_ABYTES ||
      ciphertext.size() > kMaxFrame + crypto_secretstream_xchacha20poly1305_ABYTES) {
    failed_ = true;
    return Status::auth("rpc channel: frame size out of range");
  }
  std::vector<uint8_t> out(ciphertext.size() - crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&rx_, out.data(), &len, &tag, ciphertext.data(),
                                                 ciphertext.size(), nullptr, 0) != 0 ||
      tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    failed_ = true;  // the stream state is unusable: tampered, replayed or reordered
    return Status::auth("rpc channel: frame failed authentication");
  }
  out.resize(len);
  return out;
}

// ---- initiator ----

RpcInitiator::RpcInitiator(const Keyring& keyring, const NodeId& self, std::string label)
    : keyring_(keyring), self_(self), label_(std::move(label)) {
  crypto_kx_keypair(epk_.data(), esk_.data());
}

RpcInitiator::~RpcInitiator() { sodium_memzero(esk_.data(), esk_.size()); }

std::vector<uint8_t> RpcInitiator::hello() {
  Key32 nonce;
  randombytes_buf(nonce.data(), nonce.size());
  hello_ = wire::encode_envelope(MsgType::kRpcHello, kRpcHandshakeVersion, [&](wire::Packer& p) {
    p.pack_array(5);
    p.pack_str(static_cast<uint32_t>(label_.size()));
    p.pack_str_body(label_.data(), static_cast<uint32_t>(label_.size()));
    wire::pack_node_id(p, self_);
    p.pack_uint32(keyring_.primary().id());
    pack_bin(p, epk_);
    pack_bin(p, nonce);
  });
  return hello_;
}

Result<RpcInitiator::Done> RpcInitiator::on_welcome(std::span<const uint8_t> bytes) {
  SHOAL_CHECK_MSG(!hello_.empty(), "rpc handshake: on_welcome before hello");
  auto env = wire::decode_envelope(bytes, limits());
  if (!env) return env.status();
  auto r = open_body(*env, MsgType::kRpcWelcome, "rpc_welcome");
  if (!r) return r.status();
  Welcome w;
  SHOAL_RETURN_IF_ERROR(r->node_id(0, w.id));
  SHOAL_RETURN_IF_ERROR(r->uint(1, w.key_id));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 2, w.epk));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 3, w.nonce));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 4, w.header));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 5, w.mac));
  const ClusterKey& key = keyring_.primary();
  if (w.key_id != key.id())
    return Status::auth("rpc handshake: the responder answered with another key");
  if (w.id.is_zero() || w.id == self_) return Status::auth("rpc handshake: bad responder id");

  // The transcript: everything but the MAC itself.
  Welcome core = w;
  core.mac.fill(0);
  const Key32 th =
      blake(nullptr, {str_bytes("shoal-rpc-v1"), str_bytes(label_), hello_, encode_welcome(core)});
  Key32 mac_key = derive(key, kMacSubkey);
  const Key32 expect = blake(&mac_key, {str_bytes("responder"), th});
  if (crypto_verify_32(expect.data(), w.mac.data()) != 0) {
    sodium_memzero(mac_key.data(), mac_key.size());
    return Status::auth(
        "rpc handshake: the responder's MAC does not verify (wrong key or tampered)");
  }
  uint8_t rx[crypto_kx_SESSIONKEYBYTES];
  uint8_t tx[crypto_kx_SESSIONKEYBYTES];
  if (crypto_kx_client_session_keys(rx, tx, epk_.data(), esk_.data(), w.epk.data()) != 0) {
    sodium_memzero(mac_key.data(), mac_key.size());
    return Status::auth("rpc handshake: bad ephemeral key");
  }
  Directions d = mix(key, tx, rx, early_hash(label_, hello_, w.epk, w.nonce));
  sodium_memzero(rx, sizeof rx);
  sodium_memzero(tx, sizeof tx);

  auto ch = std::unique_ptr<SecureChannel>(new SecureChannel());
  ch->peer_ = w.id;
  ch->key_id_ = key.id();
  if (crypto_secretstream_xchacha20poly1305_init_pull(&ch->rx_, w.header.data(), d.s2c.data()) !=
      0) {
    return Status::auth("rpc handshake: bad stream header");
  }
  std::array<uint8_t, kHeaderBytes> header_i;
  crypto_secretstream_xchacha20poly1305_init_push(&ch->tx_, header_i.data(), d.c2s.data());
  sodium_memzero(d.c2s.data(), 32);
  sodium_memzero(d.s2c.data(), 32);
  const Key32 mac_i = blake(&mac_key, {str_bytes("initiator"), th, header_i});
  sodium_memzero(mac_key.data(), mac_key.size());
  Done done;
  done.confirm =
      wire::encode_envelope(MsgType::kRpcConfirm, kRpcHandshakeVersion, [&](wire::Packer& p) {
        p.pack_array(2);
        pack_bin(p, header_i);
        pack_bin(p, mac_i);
      });
  done.channel = std::move(ch);
  return done;
}

// ---- responder ----

RpcResponder::RpcResponder(const Keyring& keyring, const NodeId& self, std::string label)
    : keyring_(keyring), self_(self), label_(std::move(label)) {}

RpcResponder::~RpcResponder() { sodium_memzero(mac_key_.data(), mac_key_.size()); }

Result<std::vector<uint8_t>> RpcResponder::on_hello(std::span<const uint8_t> bytes) {
  SHOAL_CHECK_MSG(!hello_seen_, "rpc handshake: a second hello on one responder");
  hello_seen_ = true;
  auto env = wire::decode_envelope(bytes, limits());
  if (!env) return env.status();
  auto r = open_body(*env, MsgType::kRpcHello, "rpc_hello");
  if (!r) return r.status();
  std::string label;
  NodeId peer;
  uint32_t key_id = 0;
  Key32 epk_i;
  Key32 nonce_i;
  SHOAL_RETURN_IF_ERROR(r->str(0, label, 256));
  SHOAL_RETURN_IF_ERROR(r->node_id(1, peer));
  SHOAL_RETURN_IF_ERROR(r->uint(2, key_id));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 3, epk_i));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 4, nonce_i));
  if (label != label_) return Status::auth("rpc handshake: another cluster label");
  if (peer.is_zero() || peer == self_) return Status::auth("rpc handshake: bad initiator id");
  const ClusterKey* key = keyring_.find(key_id);
  if (key == nullptr) return Status::auth("rpc handshake: unknown key id");

  std::array<uint8_t, crypto_kx_PUBLICKEYBYTES> epk_r;
  std::array<uint8_t, crypto_kx_SECRETKEYBYTES> esk_r;
  crypto_kx_keypair(epk_r.data(), esk_r.data());
  uint8_t rx[crypto_kx_SESSIONKEYBYTES];
  uint8_t tx[crypto_kx_SESSIONKEYBYTES];
  const int kx = crypto_kx_server_session_keys(rx, tx, epk_r.data(), esk_r.data(), epk_i.data());
  sodium_memzero(esk_r.data(), esk_r.size());
  if (kx != 0) return Status::auth("rpc handshake: bad ephemeral key");

  Welcome w;
  w.id = self_;
  w.key_id = key_id;
  w.epk = epk_r;
  randombytes_buf(w.nonce.data(), w.nonce.size());
  Directions d = mix(*key, rx, tx, early_hash(label_, bytes, w.epk, w.nonce));
  sodium_memzero(rx, sizeof rx);
  sodium_memzero(tx, sizeof tx);
  pending_ = std::unique_ptr<SecureChannel>(new SecureChannel());
  pending_->peer_ = peer;
  pending_->key_id_ = key_id;
  crypto_secretstream_xchacha20poly1305_init_push(&pending_->tx_, w.header.data(), d.s2c.data());
  // The initiator's stream key waits in the pull state's place until its
  // header arrives with the confirmation.
  static_assert(sizeof(d.c2s) == crypto_secretstream_xchacha20poly1305_KEYBYTES);
  c2s_ = d.c2s;
  sodium_memzero(d.s2c.data(), 32);
  sodium_memzero(d.c2s.data(), 32);

  transcript_ = blake(nullptr, {str_bytes("shoal-rpc-v1"), str_bytes(label_), bytes,
                                encode_welcome(w)});  // w.mac is still zero here
  mac_key_ = derive(*key, kMacSubkey);
  w.mac = blake(&mac_key_, {str_bytes("responder"), transcript_});
  return encode_welcome(w);
}

Result<std::unique_ptr<SecureChannel>> RpcResponder::on_confirm(std::span<const uint8_t> bytes) {
  SHOAL_CHECK_MSG(pending_ != nullptr, "rpc handshake: on_confirm without a welcome");
  auto env = wire::decode_envelope(bytes, limits());
  if (!env) return env.status();
  auto r = open_body(*env, MsgType::kRpcConfirm, "rpc_confirm");
  if (!r) return r.status();
  std::array<uint8_t, kHeaderBytes> header_i;
  Key32 mac_i;
  SHOAL_RETURN_IF_ERROR(fixed(*r, 0, header_i));
  SHOAL_RETURN_IF_ERROR(fixed(*r, 1, mac_i));
  const Key32 expect = blake(&mac_key_, {str_bytes("initiator"), transcript_, header_i});
  if (crypto_verify_32(expect.data(), mac_i.data()) != 0) {
    return Status::auth(
        "rpc handshake: the initiator's MAC does not verify (wrong key or tampered)");
  }
  if (crypto_secretstream_xchacha20poly1305_init_pull(&pending_->rx_, header_i.data(),
                                                      c2s_.data()) != 0) {
    return Status::auth("rpc handshake: bad stream header");
  }
  sodium_memzero(c2s_.data(), c2s_.size());
  return std::move(pending_);
}

}  // namespace shoal
