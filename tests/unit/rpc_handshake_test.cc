// The RPC handshake and channel (core/rpc_handshake.h): a good handshake
// gives two channels that talk both ways; a wrong key, another label, any
// tampered byte, a replayed handshake and tampered, replayed or reordered
// channel frames all fail with kAuth or kDecode and yield no channel.
#include "core/rpc_handshake.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "core/msg_types.h"

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

// ---- EveryTamperedByteIsCaught ----
//
// Bit 0 of every byte of each handshake message is flipped in turn, and the
// test records, per byte, which stage refused the handshake and with which
// code, as one character:
//
//   'h' / 'H'  the responder's on_hello,     kDecode / kAuth
//   'w' / 'W'  the initiator's on_welcome,   kDecode / kAuth
//   'c' / 'C'  the responder's on_confirm,   kDecode / kAuth
//   '?'        refused with another code
//   '!'        not refused at all (the flip went unnoticed)
//
// and compares the whole map with the one the wire format predicts (see
// Expected below): a flip in the structure of a message (envelope, msgpack
// headers) is a decode error, a flip in its content an auth error, each at the
// first stage that reads that message. The one exception is the hello: it
// carries no MAC, so the responder can only refuse what it checks itself (the
// structure, the label, the key id, a zero initiator id); every other flipped
// hello byte gets a welcome, and the initiator refuses that welcome because
// the responder's MAC covers the hello the responder saw. The responder never
// gets a confirm for such a handshake.

enum class Tampered { kHello, kWelcome, kConfirm };

// Every handshake message is far below this (the decoder refuses above 1 KiB);
// it bounds the loop over positions whatever the code under test does.
constexpr size_t kMaxMessageBytes = 256;

char outcome(char stage, const Status& st) {
  switch (st.code()) {
    case StatusCode::kDecode:
      return stage;
    case StatusCode::kAuth:
      return static_cast<char>(stage - 'a' + 'A');
    default:
      return '?';
  }
}

// Runs one handshake with bit 0 of byte `pos` of message `which` flipped
// (none when `pos` is past the end) and returns the outcome character. The
// sizes of the three messages are stored in `sizes`.
char run_tampered(const Keyring& k, Tampered which, size_t pos, std::array<size_t, 3>& sizes) {
  auto flip = [&](Tampered m, std::vector<uint8_t>& msg) {
    sizes[static_cast<size_t>(m)] = msg.size();
    if (m == which && pos < msg.size()) msg[pos] ^= 0x01;
  };
  RpcInitiator i(k, kA, "prod");
  RpcResponder r(k, kB, "prod");
  std::vector<uint8_t> hello = i.hello();
  flip(Tampered::kHello, hello);
  auto w = r.on_hello(hello);
  if (!w) return outcome('h', w.status());
  std::vector<uint8_t> welcome = *w;
  flip(Tampered::kWelcome, welcome);
  auto d = i.on_welcome(welcome);
  if (!d) return outcome('w', d.status());
  std::vector<uint8_t> confirm = d->confirm;
  flip(Tampered::kConfirm, confirm);
  auto ch = r.on_confirm(confirm);
  if (!ch) return outcome('c', ch.status());
  return '!';
}

// The outcome map the wire format predicts for one message, built field by
// field (core/rpc_handshake.cc, core/wire.h: msgpack, smallest encodings),
// with every byte whose value is known checked against a real message so that
// a change of the format fails here rather than shifting the map.
class Expected {
 public:
  // Bytes whose value is known, all with one outcome.
  Expected& known(std::initializer_list<uint8_t> b, char c) {
    for (uint8_t x : b) bytes_.push_back(x);
    map_.append(b.size(), c);
    return *this;
  }
  Expected& known(std::string_view s, char c) {
    for (char x : s) bytes_.push_back(static_cast<uint8_t>(x));
    map_.append(s.size(), c);
    return *this;
  }
  // `n` bytes that differ from one handshake to the next (keys, nonces, MACs).
  Expected& varying(size_t n, char c) {
    bytes_.insert(bytes_.end(), n, -1);
    map_.append(n, c);
    return *this;
  }
  // A fixed-size bin field: its header [0xc4, n] is structure, its body content.
  Expected& bin(uint8_t n, char header, char body) {
    return known({0xc4, n}, header).varying(n, body);
  }
  Expected& node_id(const NodeId& id, char header, char body) {
    known({0xc4, static_cast<uint8_t>(NodeId::kBytes)}, header);
    for (uint8_t x : id.bytes()) known({x}, body);
    return *this;
  }
  // A uint32 in its smallest msgpack encoding: a format byte (structure) and
  // the value, or a positive fixint that is all value.
  Expected& uint32(uint32_t v, char format, char value) {
    if (v < 0x80) return known({static_cast<uint8_t>(v)}, value);
    const int n = v < 0x100 ? 1 : v < 0x10000 ? 2 : 4;
    known({static_cast<uint8_t>(n == 1 ? 0xcc : n == 2 ? 0xcd : 0xce)}, format);
    for (int b = n - 1; b >= 0; --b) known({static_cast<uint8_t>(v >> (8 * b))}, value);
    return *this;
  }
  // The envelope [type: uint16, version, body: array of `fields`].
  Expected& envelope(MsgType type, uint8_t fields, char c) {
    const auto t = static_cast<uint16_t>(type);
    return known({0x93, 0xcd, static_cast<uint8_t>(t >> 8), static_cast<uint8_t>(t),
                  kRpcHandshakeVersion, static_cast<uint8_t>(0x90 | fields)},
                 c);
  }

  const std::string& map() const { return map_; }
  size_t size() const { return map_.size(); }
  // The positions where `msg` differs from the known bytes.
  std::string mismatches(const std::vector<uint8_t>& msg) const {
    std::string out;
    if (msg.size() != bytes_.size()) {
      out += "size " + std::to_string(msg.size()) + " != " + std::to_string(bytes_.size()) + "; ";
    }
    for (size_t i = 0; i < std::min(msg.size(), bytes_.size()); ++i) {
      if (bytes_[i] >= 0 && msg[i] != bytes_[i]) out += std::to_string(i) + " ";
    }
    return out;
  }

 private:
  std::string map_;
  std::vector<int> bytes_;  // -1 where the value varies
};

TEST(RpcHandshake, EveryTamperedByteIsCaught) {
  Keyring k(ClusterKey::generate());
  const uint32_t key_id = k.primary().id();
  // kA is (0, 1): flipping bit 0 of its last byte gives the zero id, which
  // the responder refuses itself; any other flip of it is a valid id.
  ASSERT_EQ(kA.bytes()[15], 0x01);
  constexpr uint8_t kHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
  const std::array<Expected, 3> expected = {
      // hello = [label, id_i, key_id, epk_i, nonce_i]
      Expected()
          .envelope(MsgType::kRpcHello, 5, 'h')
          .known({0xa4}, 'h')
          .known("prod", 'H')  // another label
          .known({0xc4, 0x10}, 'h')
          .known({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 'W')
          .known({0x01}, 'H')        // the zero id
          .uint32(key_id, 'h', 'H')  // an unknown key id
          .bin(32, 'h', 'W')         // epk_i
          .bin(32, 'h', 'W'),        // nonce_i
      // welcome = [id_r, key_id, epk_r, nonce_r, header_r, mac_r]
      Expected()
          .envelope(MsgType::kRpcWelcome, 6, 'w')
          .node_id(kB, 'w', 'W')
          .uint32(key_id, 'w', 'W')  // another key
          .bin(32, 'w', 'W')         // epk_r
          .bin(32, 'w', 'W')         // nonce_r
          .bin(kHeader, 'w', 'W')    // header_r
          .bin(32, 'w', 'W'),        // mac_r
      // confirm = [header_i, mac_i]
      Expected()
          .envelope(MsgType::kRpcConfirm, 2, 'c')
          .bin(kHeader, 'c', 'C')  // header_i
          .bin(32, 'c', 'C'),      // mac_i
  };

  // An untampered handshake: it succeeds, and fixes the sizes to iterate over.
  std::array<size_t, 3> sizes{};
  {
    RpcInitiator i(k, kA, "prod");
    RpcResponder r(k, kB, "prod");
    const std::vector<uint8_t> hello = i.hello();
    auto w = r.on_hello(hello);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    auto d = i.on_welcome(*w);
    ASSERT_TRUE(d.is_ok()) << d.status().to_string();
    ASSERT_TRUE(r.on_confirm(d->confirm).is_ok());
    const std::array<const std::vector<uint8_t>*, 3> msgs = {&hello, &*w, &d->confirm};
    for (size_t m = 0; m < 3; ++m) {
      sizes[m] = msgs[m]->size();
      ASSERT_LT(sizes[m], kMaxMessageBytes) << "message " << m;
      EXPECT_EQ(expected[m].mismatches(*msgs[m]), "") << "message " << m << " is not as expected";
    }
  }

  const char* names[] = {"hello", "welcome", "confirm"};
  for (size_t m = 0; m < 3; ++m) {
    std::string got;
    for (size_t pos = 0; pos < sizes[m] && pos < kMaxMessageBytes; ++pos) {
      std::array<size_t, 3> seen{};
      got += run_tampered(k, static_cast<Tampered>(m), pos, seen);
      ASSERT_EQ(seen[m], sizes[m]) << names[m] << " changed size between handshakes";
    }
    EXPECT_EQ(got, expected[m].map()) << names[m] << ": outcome per flipped byte";
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
