// Raft's wire and disk encodings (raft/codec.h): round trips for every value,
// the body layout, hostile and corrupt inputs with the field they fail at,
// and the configuration rules behind ConfState (raft/types.h).
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>

#include "raft/codec.h"

namespace shoal::raft::codec {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kMessageFields = 17;

Bytes all_byte_values() {
  Bytes b(256);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
  return b;
}

ConfState sample_conf() {
  return ConfState{{NodeId(1, 1), NodeId(1, 2), NodeId(1, 3)}, {NodeId(2, 1), NodeId(2, 9)}};
}

// Every field away from its default, so a field the codec forgot would show.
Message full_message(MessageKind kind) {
  Message m;
  m.kind = kind;
  m.from = NodeId(0xa, 1);
  m.to = NodeId(0xb, 2);
  m.term = Term(7);
  m.log_term = Term(6);
  m.index = Index(100);
  m.entries = {
      Entry{Term(6), Index(101), EntryType::kNormal, {}},
      Entry{Term(7), Index(102), EntryType::kNoop, {}},
      Entry{Term(7), Index(103), EntryType::kConfChange, encode(sample_conf())},
      Entry{Term(7), Index(104), EntryType::kNormal, all_byte_values()},
  };
  m.commit = Index(99);
  m.reject = true;
  m.reject_hint = Index(42);
  m.conflict_term = Term(3);
  m.transfer = true;
  m.context = ~uint64_t{0};
  m.snapshot = SnapshotMeta{Index(50), Term(2), sample_conf()};
  m.offset = 1u << 20;
  m.data = {0, 1, 0xfe, 0xff, 0};
  m.done = true;
  return m;
}

template <class T>
std::string error_of(const Result<T>& r) {
  return r.status().message();
}

// "raft_message field 6: ..." style checks.
#define EXPECT_DECODE_ERROR(result, needle)                                  \
  do {                                                                       \
    const auto& _r = (result);                                               \
    ASSERT_FALSE(_r);                                                        \
    EXPECT_EQ(_r.status().code(), StatusCode::kDecode) << error_of(_r);      \
    EXPECT_NE(error_of(_r).find(needle), std::string::npos) << error_of(_r); \
  } while (0)

// ------------------------------------------------------------- hand-packed bodies
//
// The body layout written out independently of the codec: pins the format
// (LayoutIsPinned) and builds inputs the encoder would never produce.

void pack_bin(wire::Packer& p, const Bytes& b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

void pack_ids(wire::Packer& p, const std::vector<NodeId>& ids) {
  p.pack_array(static_cast<uint32_t>(ids.size()));
  for (const NodeId& id : ids) wire::pack_node_id(p, id);
}

void pack_message_field(wire::Packer& p, const Message& m, size_t i) {
  switch (i) {
    case 0:
      p.pack_uint8(static_cast<uint8_t>(m.kind));
      break;
    case 1:
      wire::pack_node_id(p, m.from);
      break;
    case 2:
      wire::pack_node_id(p, m.to);
      break;
    case 3:
      p.pack_uint64(m.term.value());
      break;
    case 4:
      p.pack_uint64(m.log_term.value());
      break;
    case 5:
      p.pack_uint64(m.index.value());
      break;
    case 6:
      p.pack_array(static_cast<uint32_t>(m.entries.size()));
      for (const Entry& e : m.entries) {
        p.pack_array(4);
        p.pack_uint64(e.term.value());
        p.pack_uint64(e.index.value());
        p.pack_uint8(static_cast<uint8_t>(e.type));
        pack_bin(p, e.data);
      }
      break;
    case 7:
      p.pack_uint64(m.commit.value());
      break;
    case 8:
      p.pack(m.reject);
      break;
    case 9:
      p.pack_uint64(m.reject_hint.value());
      break;
    case 10:
      p.pack_uint64(m.conflict_term.value());
      break;
    case 11:
      p.pack(m.transfer);
      break;
    case 12:
      p.pack_uint64(m.context);
      break;
    case 13:
      p.pack_array(3);
      p.pack_uint64(m.snapshot.index.value());
      p.pack_uint64(m.snapshot.term.value());
      p.pack_array(2);
      pack_ids(p, m.snapshot.conf.voters);
      pack_ids(p, m.snapshot.conf.learners);
      break;
    case 14:
      p.pack_uint64(m.offset);
      break;
    case 15:
      pack_bin(p, m.data);
      break;
    case 16:
      p.pack(m.done);
      break;
    default:
      p.pack(std::string("a field from a future version"));
      break;
  }
}

// `m` packed by hand with `fields` body fields; field `which`, if given, is
// written by `replace` instead.
Bytes hand_message(const Message& m, size_t fields = kMessageFields,
                   std::optional<size_t> which = std::nullopt,
                   const std::function<void(wire::Packer&)>& replace = {}) {
  return wire::encode_envelope(MsgType::kRaftMessage, 1, [&](wire::Packer& p) {
    p.pack_array(static_cast<uint32_t>(fields));
    for (size_t i = 0; i < fields; ++i) {
      if (which && *which == i) {
        replace(p);
      } else {
        pack_message_field(p, m, i);
      }
    }
  });
}

Bytes with_envelope_type(MsgType type, const Bytes& bytes) {
  // Every encoding starts 0x93 (fixarray 3), 0xcd (uint16) hi lo.
  Bytes out = bytes;
  out[2] = static_cast<uint8_t>(static_cast<uint16_t>(type) >> 8);
  out[3] = static_cast<uint8_t>(static_cast<uint16_t>(type));
  return out;
}

// ------------------------------------------------------------- round trips

TEST(RaftCodec, EveryMessageKindRoundTrips) {
  for (uint8_t k = 0; k <= static_cast<uint8_t>(MessageKind::kReadIndexResp); ++k) {
    const Message m = full_message(static_cast<MessageKind>(k));
    auto back = decode_message(encode(m));
    ASSERT_TRUE(back) << message_kind_name(m.kind) << ": " << back.status().to_string();
    EXPECT_EQ(*back, m) << message_kind_name(m.kind);
  }
}

TEST(RaftCodec, DefaultAndExtremeMessagesRoundTrip) {
  const Message empty;
  auto back = decode_message(encode(empty));
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, empty);

  Message max = full_message(MessageKind::kAppend);
  const uint64_t top = ~uint64_t{0};
  max.term = Term(top);
  max.log_term = Term(top);
  max.index = Index(top);
  max.commit = Index(top);
  max.reject_hint = Index(top);
  max.conflict_term = Term(top);
  max.offset = top;
  max.entries[0].term = Term(top);
  max.entries[0].index = Index(top);
  max.snapshot.index = Index(top);
  max.snapshot.term = Term(top);
  back = decode_message(encode(max));
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, max);
}

TEST(RaftCodec, TypicalMessagesStaySmall) {
  Message hb;
  hb.kind = MessageKind::kHeartbeat;
  hb.from = NodeId(1, 1);
  hb.to = NodeId(1, 2);
  hb.term = Term(5);
  hb.commit = Index(1000);
  hb.context = 77;
  // Two node ids (18 bytes each) and a handful of small fields.
  EXPECT_LT(encode(hb).size(), 70u);
}

TEST(RaftCodec, EntriesRoundTrip) {
  const std::vector<Entry> entries = {
      Entry{},
      Entry{Term(1), Index(1), EntryType::kNoop, {}},
      Entry{Term(3), Index(9), EntryType::kNormal, all_byte_values()},
      Entry{Term(3), Index(10), EntryType::kNormal, Bytes(70000, 0xab)},  // bin32
      Entry{Term(4), Index(11), EntryType::kConfChange, encode(sample_conf())},
  };
  for (const Entry& e : entries) {
    auto back = decode_entry(encode(e));
    ASSERT_TRUE(back) << back.status().to_string();
    EXPECT_EQ(*back, e);
  }
}

TEST(RaftCodec, HardStateRoundTrips) {
  for (const HardState& hs :
       {HardState{}, HardState{Term(3), NodeId(), Index(0)},
        HardState{Term(9), NodeId(0xabc, 0xdef), Index(12345)},
        HardState{Term(~uint64_t{0}), NodeId(~uint64_t{0}, ~uint64_t{0}), Index(~uint64_t{0})}}) {
    auto back = decode_hard_state(encode(hs));
    ASSERT_TRUE(back) << back.status().to_string();
    EXPECT_EQ(*back, hs);
  }
  auto zero_vote = decode_hard_state(encode(HardState{Term(3), NodeId(), Index(2)}));
  ASSERT_TRUE(zero_vote);
  EXPECT_TRUE(zero_vote->vote.is_zero());
}

TEST(RaftCodec, ConfStateAndSnapshotMetaRoundTrip) {
  for (const ConfState& cs : {ConfState{}, ConfState{{NodeId(1, 1)}, {}}, sample_conf()}) {
    auto back = decode_conf_state(encode(cs));
    ASSERT_TRUE(back) << back.status().to_string();
    EXPECT_EQ(*back, cs);
  }
  ConfState many;
  for (uint64_t i = 0; i < kMaxVoters; ++i) many.voters.push_back(NodeId(7, i));
  for (uint64_t i = 0; i < kMaxVoters; ++i) many.learners.push_back(NodeId(8, i));
  auto back = decode_conf_state(encode(many));
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, many);

  for (const SnapshotMeta& meta :
       {SnapshotMeta{}, SnapshotMeta{Index(500), Term(12), sample_conf()}}) {
    auto m = decode_snapshot_meta(encode(meta));
    ASSERT_TRUE(m) << m.status().to_string();
    EXPECT_EQ(*m, meta);
  }
}

TEST(RaftCodec, MaximumEntriesPerMessageDecode) {
  Message m;
  m.entries.resize(kMaxEntriesPerMessage);
  auto back = decode_message(encode(m));
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(back->entries.size(), kMaxEntriesPerMessage);
}

TEST(RaftCodec, LayoutIsPinned) {
  // Changing the body layout breaks mixed-version clusters and stored logs;
  // this test is the reminder. Append fields, never reorder.
  const Message m = full_message(MessageKind::kSnapshot);
  EXPECT_EQ(encode(m), hand_message(m));
  const Entry e{Term(2), Index(3), EntryType::kNoop, {9}};
  EXPECT_EQ(encode(e), wire::encode_envelope(MsgType::kRaftEntry, 1, [](wire::Packer& p) {
              p.pack_array(4);
              p.pack_uint64(2);
              p.pack_uint64(3);
              p.pack_uint8(2);
              pack_bin(p, {9});
            }));
  const HardState hs{Term(4), NodeId(5, 6), Index(7)};
  EXPECT_EQ(encode(hs), wire::encode_envelope(MsgType::kRaftHardState, 1, [](wire::Packer& p) {
              p.pack_array(3);
              p.pack_uint64(4);
              wire::pack_node_id(p, NodeId(5, 6));
              p.pack_uint64(7);
            }));
  EXPECT_EQ(encode(SnapshotMeta{Index(8), Term(9), sample_conf()}),
            wire::encode_envelope(MsgType::kRaftSnapshotMeta, 1, [](wire::Packer& p) {
              p.pack_array(3);
              p.pack_uint64(8);
              p.pack_uint64(9);
              p.pack_array(2);
              pack_ids(p, sample_conf().voters);
              pack_ids(p, sample_conf().learners);
            }));
}

TEST(RaftCodec, TrailingFieldsFromANewerSenderAreIgnored) {
  const Message m = full_message(MessageKind::kAppend);
  auto back = decode_message(hand_message(m, kMessageFields + 2));
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, m);
  // A newer version number with the same fields is read the same way.
  Bytes v2 = encode(m);
  ASSERT_EQ(v2[4], 1);  // 0x93 0xcd hi lo version
  v2[4] = 2;
  back = decode_message(v2);
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, m);
}

// ------------------------------------------------------------- rejections

TEST(RaftCodec, EveryTruncationIsRejected) {
  const Bytes full = encode(full_message(MessageKind::kAppend));
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = decode_message(std::span<const uint8_t>(full.data(), n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kDecode) << n;
  }
  const Bytes hs = encode(HardState{Term(1), NodeId(1, 1), Index(1)});
  for (size_t n = 0; n < hs.size(); ++n) {
    EXPECT_FALSE(decode_hard_state(std::span<const uint8_t>(hs.data(), n))) << n;
  }
}

TEST(RaftCodec, TrailingGarbageIsRejected) {
  for (Bytes b : {encode(full_message(MessageKind::kVote)), encode(Entry{}), encode(HardState{}),
                  encode(sample_conf()), encode(SnapshotMeta{})}) {
    b.push_back(0x00);
    const std::span<const uint8_t> s(b);
    EXPECT_DECODE_ERROR(decode_message(s), "trailing");
    EXPECT_DECODE_ERROR(decode_entry(s), "trailing");
    EXPECT_DECODE_ERROR(decode_hard_state(s), "trailing");
    EXPECT_DECODE_ERROR(decode_conf_state(s), "trailing");
    EXPECT_DECODE_ERROR(decode_snapshot_meta(s), "trailing");
  }
}

TEST(RaftCodec, WrongEnvelopeTypeIsRejected) {
  EXPECT_DECODE_ERROR(decode_message(encode(Entry{})), "expected raft_message, got raft_entry");
  EXPECT_DECODE_ERROR(decode_entry(encode(HardState{})),
                      "expected raft_entry, got raft_hard_state");
  EXPECT_DECODE_ERROR(decode_hard_state(encode(sample_conf())),
                      "expected raft_hard_state, got raft_conf_state");
  EXPECT_DECODE_ERROR(decode_conf_state(encode(SnapshotMeta{})),
                      "expected raft_conf_state, got raft_snapshot_meta");
  EXPECT_DECODE_ERROR(decode_snapshot_meta(encode(Message{})),
                      "expected raft_snapshot_meta, got raft_message");
  // Same body, foreign type: a gossip ping, and a type nobody knows.
  const Bytes m = encode(full_message(MessageKind::kAppend));
  EXPECT_DECODE_ERROR(decode_message(with_envelope_type(MsgType::kGossipPing, m)), "gossip_ping");
  EXPECT_DECODE_ERROR(decode_message(with_envelope_type(static_cast<MsgType>(1099), m)),
                      "(type 1099)");
}

TEST(RaftCodec, VersionZeroIsRejected) {
  Bytes b = encode(Entry{});
  b[4] = 0;
  EXPECT_DECODE_ERROR(decode_entry(b), "version 0");
}

TEST(RaftCodec, OutOfRangeEnumsAreRejected) {
  Message m = full_message(MessageKind::kAppend);
  m.kind = static_cast<MessageKind>(13);
  EXPECT_DECODE_ERROR(decode_message(encode(m)), "raft_message field 0: unknown message kind 13");
  EXPECT_DECODE_ERROR(decode_message(hand_message(m, kMessageFields, 0,
                                                  [](wire::Packer& p) { p.pack_uint32(300); })),
                      "raft_message field 0:");

  m = full_message(MessageKind::kAppend);
  m.entries[2].type = static_cast<EntryType>(3);
  EXPECT_DECODE_ERROR(decode_message(encode(m)),
                      "raft_message field 6: entry 2 field 2: unknown entry type 3");
  EXPECT_DECODE_ERROR(
      decode_entry(encode(Entry{Term(1), Index(1), static_cast<EntryType>(255), {}})),
      "raft_entry field 2: unknown entry type 255");
}

TEST(RaftCodec, BadConfStatesAreRejected) {
  const NodeId a(1, 1), b(1, 2), c(1, 3);
  EXPECT_DECODE_ERROR(decode_conf_state(encode(ConfState{{b, a}, {}})),
                      "raft_conf_state field 0: voters are not sorted and unique (at position 1)");
  EXPECT_DECODE_ERROR(decode_conf_state(encode(ConfState{{a, b, b}, {}})),
                      "raft_conf_state field 0: voters are not sorted and unique (at position 2)");
  EXPECT_DECODE_ERROR(decode_conf_state(encode(ConfState{{a}, {c, b}})),
                      "raft_conf_state field 1: learners are not sorted and unique");
  EXPECT_DECODE_ERROR(decode_conf_state(encode(ConfState{{a, b}, {b, c}})),
                      "raft_conf_state field 1: learner " + b.to_string() + " is also a voter");

  ConfState big;
  for (uint64_t i = 0; i <= kMaxVoters; ++i) big.voters.push_back(NodeId(7, i));
  EXPECT_DECODE_ERROR(decode_conf_state(encode(big)),
                      "raft_conf_state field 0: 4097 voters exceed the limit of 4096");
  std::swap(big.voters, big.learners);
  EXPECT_DECODE_ERROR(decode_conf_state(encode(big)),
                      "raft_conf_state field 1: 4097 learners exceed the limit of 4096");

  // The same checks reach a configuration nested in a snapshot meta or message.
  EXPECT_DECODE_ERROR(decode_snapshot_meta(encode(SnapshotMeta{Index(1), Term(1), {{b, a}, {}}})),
                      "raft_snapshot_meta field 2: conf field 0: voters are not sorted");
  Message m = full_message(MessageKind::kSnapshot);
  m.snapshot.conf = ConfState{{a}, {a}};
  EXPECT_DECODE_ERROR(decode_message(encode(m)),
                      "raft_message field 13: snapshot field 2: conf field 1: learner");

  // A voter that is not a 16-byte id.
  const Bytes short_id = wire::encode_envelope(MsgType::kRaftConfState, 1, [&](wire::Packer& p) {
    p.pack_array(2);
    p.pack_array(2);
    wire::pack_node_id(p, a);
    p.pack_bin(3);
    p.pack_bin_body("abc", 3);
    p.pack_array(0);
  });
  EXPECT_DECODE_ERROR(decode_conf_state(short_id),
                      "raft_conf_state field 0: voters field 1: expected a 16-byte node id");
}

TEST(RaftCodec, ErrorsNameTheField) {
  const Message m = full_message(MessageKind::kAppendResp);
  auto replaced = [&](size_t field, const std::function<void(wire::Packer&)>& f) {
    return decode_message(hand_message(m, kMessageFields, field, f));
  };
  auto str = [](wire::Packer& p) { p.pack(std::string("x")); };
  // Every field of the wrong msgpack type is reported by number.
  for (size_t i = 0; i < kMessageFields; ++i) {
    EXPECT_DECODE_ERROR(replaced(i, str), "raft_message field " + std::to_string(i) + ":");
  }
  EXPECT_DECODE_ERROR(replaced(3, [](wire::Packer& p) { p.pack_int64(-1); }),
                      "raft_message field 3: expected an unsigned integer");
  EXPECT_DECODE_ERROR(replaced(1, [](wire::Packer& p) { pack_bin(p, Bytes(15)); }),
                      "raft_message field 1: expected a 16-byte node id");
  EXPECT_DECODE_ERROR(replaced(6,
                               [](wire::Packer& p) {
                                 p.pack_array(1);
                                 p.pack_array(3);  // an entry without its data
                                 p.pack_uint64(1);
                                 p.pack_uint64(1);
                                 p.pack_uint8(0);
                               }),
                      "raft_message field 6: entry 0 field 3: missing");
  EXPECT_DECODE_ERROR(replaced(13,
                               [](wire::Packer& p) {
                                 p.pack_array(2);  // a snapshot meta without its conf
                                 p.pack_uint64(1);
                                 p.pack_uint64(1);
                               }),
                      "raft_message field 13: snapshot field 2: missing");
  // A body one field short.
  EXPECT_DECODE_ERROR(decode_message(hand_message(m, kMessageFields - 1)),
                      "raft_message field 16: missing");
  EXPECT_DECODE_ERROR(decode_hard_state(wire::encode_envelope(MsgType::kRaftHardState, 1,
                                                              [](wire::Packer& p) {
                                                                p.pack_array(2);
                                                                p.pack_uint64(1);
                                                                wire::pack_node_id(p, NodeId(1, 1));
                                                              })),
                      "raft_hard_state field 2: missing");
}

TEST(RaftCodec, HeaderClaimingTenMillionEntriesIsRejected) {
  // [type, version, [kind, from, to, term, log_term, index, array32(10,000,000)]]
  // followed by a few bytes: rejected before anything is allocated.
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  p.pack_array(3);
  p.pack_uint16(static_cast<uint16_t>(MsgType::kRaftMessage));
  p.pack_uint8(1);
  p.pack_array(kMessageFields);
  p.pack_uint8(static_cast<uint8_t>(MessageKind::kAppend));
  wire::pack_node_id(p, NodeId(1, 1));
  wire::pack_node_id(p, NodeId(1, 2));
  p.pack_uint64(1);
  p.pack_uint64(1);
  p.pack_uint64(1);
  p.pack_array(10'000'000);
  for (int i = 0; i < 32; ++i) p.pack_nil();
  auto r = decode_message(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kDecode) << r.status().to_string();
}

TEST(RaftCodec, OneEntryTooManyIsRejected) {
  Message m;
  m.entries.resize(kMaxEntriesPerMessage + 1);
  auto r = decode_message(encode(m));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kDecode) << r.status().to_string();
}

TEST(RaftCodec, GarbageNeverThrows) {
  // Deterministic pseudo-random bytes and byte flips of a valid message.
  const Bytes valid = encode(full_message(MessageKind::kSnapshot));
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 2000; ++round) {
    Bytes b = valid;
    for (int k = 0; k < 3; ++k) b[next() % b.size()] = static_cast<uint8_t>(next());
    EXPECT_NO_THROW({
      auto r = decode_message(b);
      if (r) {
        EXPECT_EQ(decode_message(encode(*r)).value(), *r);
      }
      (void)decode_entry(b);
      (void)decode_hard_state(b);
      (void)decode_conf_state(b);
      (void)decode_snapshot_meta(b);
    });
  }
}

TEST(RaftCodec, MessageLimits) {
  const wire::DecodeLimits l = message_limits();
  EXPECT_GE(l.max_bytes, kMaxMessageBytes);
  EXPECT_EQ(l.max_bin, kMaxMessageBytes);
  EXPECT_GE(l.max_array, kMaxEntriesPerMessage);
  EXPECT_EQ(l.max_ext, 0u);
}

// ------------------------------------------------------------- configurations

TEST(RaftTypes, ConfStateMembership) {
  const ConfState cs = sample_conf();
  EXPECT_TRUE(cs.is_voter(NodeId(1, 2)));
  EXPECT_FALSE(cs.is_learner(NodeId(1, 2)));
  EXPECT_TRUE(cs.is_learner(NodeId(2, 9)));
  EXPECT_FALSE(cs.is_voter(NodeId(2, 9)));
  EXPECT_FALSE(cs.contains(NodeId(3, 3)));
  EXPECT_EQ(cs.quorum(), 2u);
  EXPECT_FALSE(ConfState{}.is_voter(NodeId(1, 1)));
}

TEST(RaftTypes, ApplyConfChange) {
  using K = ConfChange::Kind;
  const NodeId a(1, 1), b(1, 2), c(1, 3), d(1, 4);
  const ConfState base{{a, c}, {b}};
  struct Case {
    const char* name;
    ConfState from;
    ConfChange change;
    std::optional<ConfState> want;
  };
  const Case cases[] = {
      {"add learner", base, {K::kAddLearner, d}, ConfState{{a, c}, {b, d}}},
      {"add learner sorts",
       base,
       {K::kAddLearner, NodeId(0, 5)},
       ConfState{{a, c}, {NodeId(0, 5), b}}},
      {"add learner twice", base, {K::kAddLearner, b}, std::nullopt},
      {"add voter as learner", base, {K::kAddLearner, a}, std::nullopt},
      {"promote learner", base, {K::kPromoteLearner, b}, ConfState{{a, b, c}, {}}},
      {"promote voter", base, {K::kPromoteLearner, a}, std::nullopt},
      {"promote stranger", base, {K::kPromoteLearner, d}, std::nullopt},
      {"add voter", base, {K::kAddVoter, d}, ConfState{{a, c, d}, {b}}},
      {"add voter sorts", base, {K::kAddVoter, NodeId(0, 9)}, ConfState{{NodeId(0, 9), a, c}, {b}}},
      {"add voter twice", base, {K::kAddVoter, c}, std::nullopt},
      {"add learner as voter", base, {K::kAddVoter, b}, std::nullopt},
      {"remove voter", base, {K::kRemove, a}, ConfState{{c}, {b}}},
      {"remove learner", base, {K::kRemove, b}, ConfState{{a, c}, {}}},
      {"remove stranger", base, {K::kRemove, d}, std::nullopt},
      {"remove last voter", ConfState{{a}, {b}}, {K::kRemove, a}, std::nullopt},
      {"remove learner beside last voter",
       ConfState{{a}, {b}},
       {K::kRemove, b},
       ConfState{{a}, {}}},
      {"first voter", ConfState{}, {K::kAddVoter, a}, ConfState{{a}, {}}},
      {"zero id", base, {K::kAddLearner, NodeId()}, std::nullopt},
      {"unknown kind", base, {static_cast<K>(9), d}, std::nullopt},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(apply_conf_change(tc.from, tc.change), tc.want) << tc.name;
  }
}

TEST(RaftTypes, Names) {
  EXPECT_STREQ(message_kind_name(MessageKind::kAppendResp), "append_resp");
  EXPECT_STREQ(message_kind_name(MessageKind::kPreVote), "pre_vote");
  EXPECT_STREQ(message_kind_name(MessageKind::kReadIndexResp), "read_index_resp");
  EXPECT_STREQ(message_kind_name(static_cast<MessageKind>(13)), "unknown");
  for (uint8_t k = 0; k <= 12; ++k) {
    EXPECT_STRNE(message_kind_name(static_cast<MessageKind>(k)), "unknown") << int(k);
  }
  EXPECT_EQ(to_string(Term(42)), "42");
  EXPECT_EQ(to_string(Index(~uint64_t{0})), "18446744073709551615");
}

}  // namespace
}  // namespace shoal::raft::codec
