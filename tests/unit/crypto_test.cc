#include "core/crypto.h"

#include <gtest/gtest.h>

#include <set>

namespace shoal::crypto {
namespace {

using Bytes = std::vector<uint8_t>;

ClusterKey key_of(uint8_t fill) {
  ClusterKey::Bytes b;
  b.fill(fill);
  return ClusterKey::from_bytes(b);
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST(ClusterKeyTest, Base64RoundTrip) {
  ClusterKey k = ClusterKey::generate();
  std::string b64 = k.to_base64();
  EXPECT_EQ(b64.size(), 44u);
  auto back = ClusterKey::from_base64(b64);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, k);
  EXPECT_EQ(back->id(), k.id());
  auto padded = ClusterKey::from_base64("  " + b64 + "\n");
  ASSERT_TRUE(padded);
  EXPECT_EQ(*padded, k);
}

TEST(ClusterKeyTest, BadBase64IsAClearError) {
  for (const char* bad :
       {"", "not base64!!", "AAAA", "YWJj", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto k = ClusterKey::from_base64(bad);
    ASSERT_FALSE(k) << bad;
    EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(k.status().message().find("shoal keygen"), std::string::npos);
  }
}

TEST(ClusterKeyTest, GeneratedKeysDifferAndIdsFollowKeys) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) seen.insert(ClusterKey::generate().to_base64());
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_EQ(key_of(1).id(), key_of(1).id());
  EXPECT_NE(key_of(1).id(), key_of(2).id());
}

TEST(KeyringTest, InstallUseRemove) {
  Keyring ring(key_of(1));
  EXPECT_EQ(ring.primary().id(), key_of(1).id());
  ASSERT_TRUE(ring.install(key_of(2)).is_ok());
  ASSERT_TRUE(ring.install(key_of(2)).is_ok());  // idempotent
  EXPECT_EQ(ring.keys().size(), 2u);
  EXPECT_EQ(ring.remove(key_of(1).id()).code(), StatusCode::kInvalidArgument);  // primary
  EXPECT_EQ(ring.use(key_of(3).id()).code(), StatusCode::kNotFound);
  ASSERT_TRUE(ring.use(key_of(2).id()).is_ok());
  EXPECT_EQ(ring.primary().id(), key_of(2).id());
  ASSERT_TRUE(ring.remove(key_of(1).id()).is_ok());
  EXPECT_EQ(ring.keys().size(), 1u);
  EXPECT_EQ(ring.find(key_of(1).id()), nullptr);
  EXPECT_EQ(ring.remove(key_of(1).id()).code(), StatusCode::kNotFound);
}

class PacketTest : public ::testing::Test {
 protected:
  NodeId sender{0xaa, 0xbb};
  Keyring ring{key_of(7)};
  PacketSealer sealer{"prod", sender, 3};
  PacketOpener opener{"prod"};
};

TEST_F(PacketTest, SealOpenRoundTrip) {
  Bytes pkt = sealer.seal(ring, text("hello gossip"));
  EXPECT_EQ(pkt.size(), kPacketOverhead + 12);
  auto opened = opener.open(ring, pkt);
  ASSERT_TRUE(opened) << opened.status().to_string();
  EXPECT_EQ(opened->plaintext, text("hello gossip"));
  EXPECT_EQ(opened->sender, sender);
  EXPECT_EQ(opened->epoch, 3u);
  EXPECT_EQ(opened->counter, 0u);
  EXPECT_EQ(opened->key_id, key_of(7).id());
  EXPECT_EQ(sealer.next_counter(), 1u);
}

TEST_F(PacketTest, EmptyPlaintextIsFine) {
  auto opened = opener.open(ring, sealer.seal(ring, {}));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->plaintext.empty());
}

TEST_F(PacketTest, WrongKeyFailsAuthentication) {
  Keyring other(key_of(8));
  Bytes pkt = PacketSealer("prod", sender, 3).seal(other, text("x"));
  EXPECT_EQ(opener.open(ring, pkt).status().code(), StatusCode::kAuth);
  // Same key id, different key: rewrite the key id to ours.
  Bytes forged = pkt;
  const uint32_t id = key_of(7).id();
  for (int i = 0; i < 4; ++i) forged[1 + i] = static_cast<uint8_t>(id >> (24 - 8 * i));
  EXPECT_EQ(opener.open(ring, forged).status().code(), StatusCode::kAuth);
}

TEST_F(PacketTest, EveryFlippedByteIsRejected) {
  Bytes pkt = sealer.seal(ring, text("the quick brown fox"));
  for (size_t i = 0; i < pkt.size(); ++i) {
    Bytes bad = pkt;
    bad[i] ^= 0x01;
    PacketOpener fresh("prod");
    auto r = fresh.open(ring, bad);
    ASSERT_FALSE(r) << "flipped byte " << i << " was accepted";
    EXPECT_TRUE(r.status().code() == StatusCode::kAuth || r.status().code() == StatusCode::kDecode)
        << i << ": " << r.status().to_string();
  }
  // A rejected packet moved no replay state: the original still opens.
  EXPECT_TRUE(opener.open(ring, pkt));
}

TEST_F(PacketTest, TruncatedAndGarbagePacketsAreDecodeErrors) {
  Bytes pkt = sealer.seal(ring, text("abc"));
  for (size_t n = 0; n < kPacketOverhead; ++n) {
    EXPECT_EQ(opener.open(ring, std::span(pkt.data(), n)).status().code(), StatusCode::kDecode);
  }
  EXPECT_EQ(opener.open(ring, std::span(pkt.data(), pkt.size() - 1)).status().code(),
            StatusCode::kAuth);
  Bytes bad_version = pkt;
  bad_version[0] = 9;
  EXPECT_EQ(opener.open(ring, bad_version).status().code(), StatusCode::kDecode);
}

TEST_F(PacketTest, ClusterLabelIsBound) {
  Bytes pkt = sealer.seal(ring, text("x"));
  PacketOpener staging("staging");
  EXPECT_EQ(staging.open(ring, pkt).status().code(), StatusCode::kAuth);
  PacketOpener unlabelled("");
  EXPECT_EQ(unlabelled.open(ring, pkt).status().code(), StatusCode::kAuth);
}

TEST_F(PacketTest, ReplayedPacketIsRejected) {
  Bytes p0 = sealer.seal(ring, text("a"));
  Bytes p1 = sealer.seal(ring, text("b"));
  ASSERT_TRUE(opener.open(ring, p1));
  ASSERT_TRUE(opener.open(ring, p0));  // reordered, inside the window
  EXPECT_EQ(opener.open(ring, p0).status().code(), StatusCode::kReplay);
  EXPECT_EQ(opener.open(ring, p1).status().code(), StatusCode::kReplay);
}

TEST_F(PacketTest, OlderEpochRejectedRestartedSenderAccepted) {
  PacketSealer old_run("prod", sender, 2);
  Bytes stale = old_run.seal(ring, text("from the previous run"));
  ASSERT_TRUE(opener.open(ring, sealer.seal(ring, text("now"))));
  EXPECT_EQ(opener.open(ring, stale).status().code(), StatusCode::kReplay);
  // The sender restarts: epoch 4, counter starts again at 0.
  PacketSealer restarted("prod", sender, 4);
  auto r = opener.open(ring, restarted.seal(ring, text("back")));
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->counter, 0u);
  // And now epoch 3 is the past.
  EXPECT_EQ(opener.open(ring, sealer.seal(ring, text("late"))).status().code(),
            StatusCode::kReplay);
}

TEST_F(PacketTest, RotationOldKeyOpensUntilRemoved) {
  // Receiver and sender share a ring; the operator installs key 9 and uses it.
  Bytes sealed_with_old = sealer.seal(ring, text("old"));
  ASSERT_TRUE(ring.install(key_of(9)).is_ok());
  ASSERT_TRUE(ring.use(key_of(9).id()).is_ok());
  Bytes sealed_with_new = sealer.seal(ring, text("new"));
  auto n = opener.open(ring, sealed_with_new);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->key_id, key_of(9).id());
  auto o = opener.open(ring, sealed_with_old);
  ASSERT_TRUE(o) << "an installed non-primary key must still open";
  EXPECT_EQ(o->key_id, key_of(7).id());
  // A node that missed the rotation still seals with the old key...
  Keyring laggard(key_of(7));
  Bytes from_laggard = PacketSealer("prod", NodeId(5, 5), 1).seal(laggard, text("late"));
  EXPECT_TRUE(opener.open(ring, from_laggard));
  // ...until the old key is removed everywhere.
  ASSERT_TRUE(ring.remove(key_of(7).id()).is_ok());
  Bytes again = PacketSealer("prod", NodeId(5, 5), 2).seal(laggard, text("later"));
  EXPECT_EQ(opener.open(ring, again).status().code(), StatusCode::kAuth);
}

TEST_F(PacketTest, NoncesAreFresh) {
  Bytes a = sealer.seal(ring, text("same"));
  Bytes b = sealer.seal(ring, text("same"));
  EXPECT_NE(Bytes(a.begin() + 37, a.begin() + 61), Bytes(b.begin() + 37, b.begin() + 61));
  EXPECT_NE(Bytes(a.begin() + 61, a.end()), Bytes(b.begin() + 61, b.end()));
}

TEST(CryptoTest, GeneratedNodeIdsAreRandom) {
  EXPECT_NE(generate_node_id(), generate_node_id());
  EXPECT_FALSE(generate_node_id().is_zero());
}

}  // namespace
}  // namespace shoal::crypto
