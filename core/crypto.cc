#include "core/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace shoal::crypto {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

// Byte offsets of the packet header (see crypto.h).
constexpr size_t kOffVersion = 0;
constexpr size_t kOffKeyId = 1;
constexpr size_t kOffSender = 5;
constexpr size_t kOffEpoch = 21;
constexpr size_t kOffCounter = 29;
constexpr size_t kOffNonce = 37;
constexpr size_t kAuthenticatedHeader = kOffNonce;  // bytes 0..37 go into the AD
static_assert(kOffNonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kPacketHeaderBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kPacketOverhead - kPacketHeaderBytes);

// "shoal" | label length (2 bytes) | label | authenticated header bytes.
std::vector<uint8_t> associated_data(const std::string& cluster_label, const uint8_t* header) {
  static constexpr char kProtocolLabel[] = "shoal";
  std::vector<uint8_t> ad(5 + 2 + cluster_label.size() + kAuthenticatedHeader);
  uint8_t* p = ad.data();
  std::memcpy(p, kProtocolLabel, 5);
  p[5] = static_cast<uint8_t>(cluster_label.size() >> 8);
  p[6] = static_cast<uint8_t>(cluster_label.size());
  std::memcpy(p + 7, cluster_label.data(), cluster_label.size());
  std::memcpy(p + 7 + cluster_label.size(), header, kAuthenticatedHeader);
  return ad;
}

}  // namespace

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "shoal: libsodium failed to initialise\n");
      std::abort();
    }
  });
}

void random_bytes(std::span<uint8_t> out) {
  init();
  randombytes_buf(out.data(), out.size());
}

NodeId generate_node_id() {
  NodeId::Bytes b;
  random_bytes(b);
  return NodeId(b);
}

ClusterKey::ClusterKey(const Bytes& b) : bytes_(b) {
  init();
  static constexpr char kIdContext[] = "shoal key id";
  uint8_t digest[crypto_generichash_BYTES];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof digest);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kIdContext),
                            sizeof kIdContext - 1);
  crypto_generichash_update(&st, bytes_.data(), bytes_.size());
  crypto_generichash_final(&st, digest, sizeof digest);
  id_ = get_u32(digest);
}

ClusterKey::~ClusterKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

ClusterKey ClusterKey::generate() {
  Bytes b;
  random_bytes(b);
  ClusterKey k(b);
  sodium_memzero(b.data(), b.size());
  return k;
}

ClusterKey ClusterKey::from_bytes(const Bytes& b) { return ClusterKey(b); }

Result<ClusterKey> ClusterKey::from_base64(std::string_view text) {
  init();
  // Tolerate surrounding whitespace (keys are pasted from files and shells).
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  Bytes b{};
  size_t len = 0;
  const char* end = nullptr;
  // One byte more than a key holds, so that a longer input is detected.
  uint8_t buf[kBytes + 1];
  if (sodium_base642bin(buf, sizeof buf, text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return Status::invalid_argument(
        "cluster key is not valid base64 (make one with `shoal keygen`)");
  }
  if (len != kBytes) {
    sodium_memzero(buf, sizeof buf);
    return Status::invalid_argument("cluster key must be 32 bytes, got " + std::to_string(len) +
                                    " (make one with `shoal keygen`)");
  }
  std::copy(buf, buf + kBytes, b.begin());
  sodium_memzero(buf, sizeof buf);
  ClusterKey k(b);
  sodium_memzero(b.data(), b.size());
  return k;
}

std::string ClusterKey::to_base64() const {
  char out[sodium_base64_ENCODED_LEN(kBytes, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, bytes_.data(), bytes_.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

Keyring::Keyring(ClusterKey primary) { keys_.push_back(std::move(primary)); }

Status Keyring::install(const ClusterKey& key) {
  if (const ClusterKey* existing = find(key.id())) {
    if (*existing == key) return Status::ok();
    return Status::conflict("another installed key has the same key id");
  }
  keys_.push_back(key);
  return Status::ok();
}

Status Keyring::use(uint32_t key_id) {
  auto it = std::find_if(keys_.begin(), keys_.end(),
                         [&](const ClusterKey& k) { return k.id() == key_id; });
  if (it == keys_.end()) return Status::not_found("key is not installed; install it first");
  std::rotate(keys_.begin(), it, it + 1);
  return Status::ok();
}

Status Keyring::remove(uint32_t key_id) {
  if (primary().id() == key_id) {
    return Status::invalid_argument("cannot remove the primary key; use another key first");
  }
  auto it = std::find_if(keys_.begin(), keys_.end(),
                         [&](const ClusterKey& k) { return k.id() == key_id; });
  if (it == keys_.end()) return Status::not_found("key is not installed");
  keys_.erase(it);
  return Status::ok();
}

const ClusterKey* Keyring::find(uint32_t key_id) const {
  for (const auto& k : keys_) {
    if (k.id() == key_id) return &k;
  }
  return nullptr;
}

PacketSealer::PacketSealer(std::string cluster_label, NodeId sender, uint64_t boot_epoch)
    : cluster_label_(std::move(cluster_label)), sender_(sender), epoch_(boot_epoch) {
  init();
}

std::vector<uint8_t> PacketSealer::seal(const Keyring& keyring,
                                        std::span<const uint8_t> plaintext) {
  const ClusterKey& key = keyring.primary();
  std::vector<uint8_t> out(kPacketOverhead + plaintext.size());
  uint8_t* h = out.data();
  h[kOffVersion] = kPacketVersion;
  put_u32(h + kOffKeyId, key.id());
  std::copy(sender_.bytes().begin(), sender_.bytes().end(), h + kOffSender);
  put_u64(h + kOffEpoch, epoch_);
  put_u64(h + kOffCounter, counter_++);
  // Random 192-bit nonces: safe even if two nodes were cloned with one id.
  randombytes_buf(h + kOffNonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const auto ad = associated_data(cluster_label_, h);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kPacketHeaderBytes, &clen,
                                             plaintext.data(), plaintext.size(), ad.data(),
                                             ad.size(), nullptr, h + kOffNonce, key.bytes().data());
  SHOAL_CHECK(clen == plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  return out;
}

PacketOpener::PacketOpener(std::string cluster_label, size_t max_senders)
    : cluster_label_(std::move(cluster_label)), guard_(max_senders) {
  init();
}

Result<OpenedPacket> PacketOpener::open(const Keyring& keyring, std::span<const uint8_t> packet) {
  if (packet.size() < kPacketOverhead) {
    return Status::decode("packet of " + std::to_string(packet.size()) +
                          " bytes is shorter than the sealed header");
  }
  const uint8_t* h = packet.data();
  if (h[kOffVersion] != kPacketVersion) {
    return Status::decode("unknown packet version " + std::to_string(h[kOffVersion]));
  }
  OpenedPacket out;
  out.key_id = get_u32(h + kOffKeyId);
  NodeId::Bytes sender;
  std::copy(h + kOffSender, h + kOffSender + NodeId::kBytes, sender.begin());
  out.sender = NodeId(sender);
  out.epoch = get_u64(h + kOffEpoch);
  out.counter = get_u64(h + kOffCounter);

  const ClusterKey* key = keyring.find(out.key_id);
  if (key == nullptr) return Status::auth("sealed with a key that is not installed");
  // Cheap replay pre-check before spending a decryption; state moves only
  // after authentication below.
  SHOAL_RETURN_IF_ERROR(guard_.check(out.sender, out.epoch, out.counter));

  const auto ad = associated_data(cluster_label_, h);
  const size_t clen = packet.size() - kPacketHeaderBytes;
  out.plaintext.resize(clen - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.plaintext.data(), &mlen, nullptr, packet.data() + kPacketHeaderBytes, clen, ad.data(),
          ad.size(), h + kOffNonce, key->bytes().data()) != 0) {
    return Status::auth("packet failed authentication");
  }
  out.plaintext.resize(mlen);
  guard_.accept(out.sender, out.epoch, out.counter);
  return out;
}

}  // namespace shoal::crypto
