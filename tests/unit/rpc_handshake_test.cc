// The RPC handshake and channel (core/rpc_handshake.h): a good handshake
// gives two channels that talk both ways; a wrong key, another label, any
// tampered byte, a replayed handshake and tampered, replayed or reordered
// channel frames all fail with kAuth or kDecode and yield no channel.
#include "core/rpc_handshake.h"

#include <gtest/gtest.h>

#include <string>

namespace shoal {
namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

struct Pair {
  std::unique_ptr<SecureChannel> a;  // initiator's
  std::unique_ptr<SecureChannel> b;  // responder's
};

const NodeId kA(0, 1);
const NodeId kB(0, 2);

Result<Pair> handshake(const Keyring& ka, const Keyring& kb, const std::string& la = "prod",
                       const std::string& lb = "prod") {
  RpcInitiator i(ka, kA, la);
  RpcResponder r(kb, kB, lb);
  auto welcome = r.on_hello(i.hello());
  if (!welcome) return welcome.status();
  auto done = i.on_welcome(*welcome);
  if (!done) return done.status();
  auto ch = r.on_confirm(done->confirm);
  if (!ch) return ch.status();
  return Pair{std::move(done->channel), std::move(*ch)};
}

TEST(RpcHandshake, AGoodHandshakeGivesChannelsBothWays) {
  Keyring k(ClusterKey::generate());
  auto p = handshake(k, k);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->a->peer(), kB);
  EXPECT_EQ(p->b->peer(), kA);
  for (int n = 0; n < 3; ++n) {
    auto got = p->b->open(p->a->seal(bytes("ping " + std::to_string(n))));
    ASSERT_TRUE(got.is_ok());
    EXPECT_EQ(*got, bytes("ping " + std::to_string(n)));
    auto back = p->a->open(p->b->seal(bytes("pong")));
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(*back, bytes("pong"));
  }
  // Each direction has its own key: a frame cannot be reflected back.
  auto mine = p->a->seal(bytes("x"));
  EXPECT_FALSE(p->a->open(mine).is_ok());
}

TEST(RpcHandshake, AnyInstalledKeyIsAcceptedAndTheWrongKeyIsNot) {
  const ClusterKey old_key = ClusterKey::generate();
  const ClusterKey new_key = ClusterKey::generate();
  Keyring server(old_key);
  ASSERT_TRUE(server.install(new_key).is_ok());
  EXPECT_TRUE(handshake(Keyring(new_key), server).is_ok()) << "installed, not primary";
  auto wrong = handshake(Keyring(ClusterKey::generate()), server);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kAuth);
}

// An attacker without the key can send a hello and read the welcome, but
// neither check the welcome nor confirm (the MAC checks themselves are hit
// byte by byte in EveryTamperedByteIsCaught).
TEST(RpcHandshake, WithoutTheKeyNoConfirmationPasses) {
  const ClusterKey real = ClusterKey::generate();
  Keyring server(real);
  RpcResponder r(server, kB, "prod");
  RpcInitiator honest(server, kA, "prod");
  auto welcome = r.on_hello(honest.hello());
  ASSERT_TRUE(welcome.is_ok());
  // The attacker's guess at a key.
  Keyring guess(ClusterKey::generate());
  RpcInitiator attacker(guess, kA, "prod");
  (void)attacker.hello();
  EXPECT_FALSE(attacker.on_welcome(*welcome).is_ok());
  // Replaying an honest confirmation from another handshake fails too.
  RpcResponder r2(server, kB, "prod");
  RpcInitiator i2(server, kA, "prod");
  auto w2 = r2.on_hello(i2.hello());
  ASSERT_TRUE(w2.is_ok());
  auto d2 = i2.on_welcome(*w2);
  ASSERT_TRUE(d2.is_ok());
  auto replayed = r.on_confirm(d2->confirm);
  ASSERT_FALSE(replayed.is_ok());
  EXPECT_EQ(replayed.status().code(), StatusCode::kAuth);
}

TEST(RpcHandshake, AReplayedHelloCannotBeCompleted) {
  Keyring k(ClusterKey::generate());
  RpcInitiator i(k, kA, "prod");
  const std::vector<uint8_t> hello = i.hello();
  RpcResponder r1(k, kB, "prod");
  auto w1 = r1.on_hello(hello);
  ASSERT_TRUE(w1.is_ok());
  auto d1 = i.on_welcome(*w1);
  ASSERT_TRUE(d1.is_ok());
  ASSERT_TRUE(r1.on_confirm(d1->confirm).is_ok());
  // The same hello and confirm, replayed at a fresh responder.
  RpcResponder r2(k, kB, "prod");
  auto w2 = r2.on_hello(hello);
  ASSERT_TRUE(w2.is_ok()) << "a hello alone proves nothing; the responder answers";
  EXPECT_NE(*w2, *w1) << "fresh ephemeral key and nonce";
  EXPECT_FALSE(r2.on_confirm(d1->confirm).is_ok());
}

TEST(RpcHandshake, AnotherClusterLabelIsRefused) {
  Keyring k(ClusterKey::generate());
  auto p = handshake(k, k, "prod", "staging");
  ASSERT_FALSE(p.is_ok());
  EXPECT_EQ(p.status().code(), StatusCode::kAuth);
}

// Flipping any single byte of any handshake message makes it fail.
TEST(RpcHandshake, EveryTamperedByteIsCaught) {
  Keyring k(ClusterKey::generate());
  for (int msg = 0; msg < 3; ++msg) {
    for (size_t pos = 0;; ++pos) {
      RpcInitiator i(k, kA, "prod");
      RpcResponder r(k, kB, "prod");
      std::vector<uint8_t> hello = i.hello();
      if (msg == 0) {
        if (pos >= hello.size()) break;
        hello[pos] ^= 0x01;
      }
      auto w = r.on_hello(hello);
      if (!w) continue;  // caught at once
      std::vector<uint8_t> welcome = *w;
      if (msg == 1) {
        if (pos >= welcome.size()) break;
        welcome[pos] ^= 0x01;
      }
      auto d = i.on_welcome(welcome);
      if (!d) continue;
      std::vector<uint8_t> confirm = d->confirm;
      if (msg == 2) {
        if (pos >= confirm.size()) break;
        confirm[pos] ^= 0x01;
      }
      auto ch = r.on_confirm(confirm);
      if (!ch) continue;
      // The handshake passed despite the flip: then at least the channel
      // must not work.
      auto got = (*ch)->open(d->channel->seal(bytes("x")));
      EXPECT_FALSE(got.is_ok()) << "message " << msg << " byte " << pos << " flipped unnoticed";
    }
  }
}

TEST(RpcChannel, TamperedReplayedAndReorderedFramesFail) {
  Keyring k(ClusterKey::generate());
  {
    auto p = handshake(k, k);
    ASSERT_TRUE(p.is_ok());
    auto f = p->a->seal(bytes("hello"));
    f[f.size() / 2] ^= 0x40;
    EXPECT_EQ(p->b->open(f).status().code(), StatusCode::kAuth);
    EXPECT_FALSE(p->b->open(p->a->seal(bytes("next"))).is_ok()) << "a failed stream stays closed";
  }
  {
    auto p = handshake(k, k);
    ASSERT_TRUE(p.is_ok());
    auto f = p->a->seal(bytes("once"));
    ASSERT_TRUE(p->b->open(f).is_ok());
    EXPECT_FALSE(p->b->open(f).is_ok()) << "replayed";
  }
  {
    auto p = handshake(k, k);
    ASSERT_TRUE(p.is_ok());
    auto f1 = p->a->seal(bytes("1"));
    auto f2 = p->a->seal(bytes("2"));
    EXPECT_FALSE(p->b->open(f2).is_ok()) << "reordered";
  }
  {
    auto p = handshake(k, k);
    ASSERT_TRUE(p.is_ok());
    EXPECT_FALSE(p->b->open(std::vector<uint8_t>(5, 0)).is_ok()) << "too short";
  }
}

TEST(RpcHandshake, MalformedMessagesAreDecodeErrors) {
  Keyring k(ClusterKey::generate());
  RpcResponder r(k, kB, "prod");
  auto w = r.on_hello(std::vector<uint8_t>{0x93, 0x01, 0x02});
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), StatusCode::kDecode);
  RpcInitiator self_talk(k, kB, "prod");
  RpcResponder r2(k, kB, "prod");
  EXPECT_EQ(r2.on_hello(self_talk.hello()).status().code(), StatusCode::kAuth) << "our own id";
}

}  // namespace
}  // namespace shoal
