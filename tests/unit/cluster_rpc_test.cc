// The agents' forward and follow RPC messages (node/cluster/cluster_rpc.h): every
// message survives a round trip, with empty and near-limit sizes; a frame is
// the channel tag and then an envelope, and the decoders take the envelope
// alone; wrong types, version 0, every truncation, broken invariants and
// over-limit fields are refused with kDecode; fields appended by a newer
// sender are ignored.
#include "node/cluster/cluster_rpc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/msg_types.h"
#include "core/wire.h"
#include "raft/codec.h"

namespace shoal::node {
namespace {

using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::Term;

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// The envelope of a frame: everything after the channel tag.
std::vector<uint8_t> with_tag_for_test(std::vector<uint8_t> envelope) {
  envelope.insert(envelope.begin(), kFollowRpcChannel);
  return envelope;
}

std::span<const uint8_t> untag(const std::vector<uint8_t>& frame) {
  return std::span<const uint8_t>(frame).subspan(1);
}

// A hand-made envelope: the frame's envelope unpacked, its type, version and
// body fields changed by `edit`, and packed again (without a tag).
struct Parts {
  uint16_t type = 0;
  uint8_t version = 0;
  std::vector<msgpack::object> fields;
  msgpack::zone zone;  // owns what `edit` adds
};
std::vector<uint8_t> rewrite(const std::vector<uint8_t>& frame,
                             const std::function<void(Parts&)>& edit) {
  const auto env = untag(frame);
  msgpack::object_handle h = msgpack::unpack(reinterpret_cast<const char*>(env.data()), env.size());
  const msgpack::object& o = h.get();
  Parts parts;
  parts.type = o.via.array.ptr[0].as<uint16_t>();
  parts.version = o.via.array.ptr[1].as<uint8_t>();
  const msgpack::object& body = o.via.array.ptr[2];
  parts.fields.assign(body.via.array.ptr, body.via.array.ptr + body.via.array.size);
  edit(parts);
  msgpack::sbuffer buf;
  wire::Packer p(buf);
  p.pack_array(3);
  p.pack_uint16(parts.type);
  p.pack_uint8(parts.version);
  p.pack_array(static_cast<uint32_t>(parts.fields.size()));
  for (const msgpack::object& f : parts.fields) p.pack(f);
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()),
                              reinterpret_cast<const uint8_t*>(buf.data()) + buf.size());
}

const NodeId kN1(0, 0x11);
const NodeId kN2(0, 0x22);
const NodeId kN3(0, 0x33);
const NodeId kN4(0, 0x44);

raft::ConfState three_voters_one_learner() { return raft::ConfState{{kN1, kN2, kN3}, {kN4}}; }

ForwardRequest a_forward_request() {
  ForwardRequest m;
  m.id = 0x0102030405060708ull;
  m.hops = 2;
  m.method = "PUT";
  m.target = "/v1/kv/service/web/config?cas=17";
  m.body = R"({"replicas":3})";
  m.content_type = "application/json";
  return m;
}

ForwardResponse a_forward_response() {
  ForwardResponse m;
  m.id = 42;
  m.status = 200;
  m.content_type = "application/json";
  m.body = "true";
  m.headers = {{"X-Shoal-Index", "1234"}, {"X-Shoal-Leader", "node-a"}, {"Cache-Control", ""}};
  return m;
}

FollowRequest a_follow_request() {
  FollowRequest m;
  m.id = 7;
  m.after = 1000;
  m.max_bytes = 1u << 20;
  m.snapshot_index = 900;
  m.snapshot_offset = 65536;
  m.wait_ms = 1000;
  m.term = 42;
  return m;
}

// Entries first..first+n-1 in term `term`, cycling through every EntryType.
std::vector<Entry> entries(uint64_t first, size_t n, uint64_t term = 5) {
  std::vector<Entry> out;
  for (size_t i = 0; i < n; ++i) {
    Entry e;
    e.term = Term(term);
    e.index = Index(first + i);
    switch (i % 3) {
      case 0:
        e.type = EntryType::kNormal;
        e.data = bytes("put key" + std::to_string(i));
        break;
      case 1:
        e.type = EntryType::kConfChange;
        e.data = raft::codec::encode(three_voters_one_learner());
        break;
      default:
        e.type = EntryType::kNoop;
        break;
    }
    out.push_back(std::move(e));
  }
  return out;
}

FollowResponse a_follow_response_with_entries() {
  FollowResponse m;
  m.id = 9;
  m.cluster_id = "c0ffee00-1111-2222-3333-444455556666";
  m.leader = kN2;
  m.term = 5;
  m.commit = 1006;
  m.conf = three_voters_one_learner();
  m.entries = entries(1001, 6);
  m.conf_committed = true;
  return m;
}

FollowResponse a_follow_response_with_snapshot() {
  FollowResponse m;
  m.id = 10;
  m.cluster_id = "prod";
  m.leader = kN1;
  m.term = 8;
  m.commit = 5000;
  m.conf = three_voters_one_learner();
  m.has_snapshot = true;
  m.snapshot_meta.index = Index(4096);
  m.snapshot_meta.term = Term(7);
  m.snapshot_meta.conf = three_voters_one_learner();
  m.snapshot_size = 300000;
  m.snapshot_offset = 131072;
  m.snapshot_chunk.resize(65536);
  for (size_t i = 0; i < m.snapshot_chunk.size(); ++i) m.snapshot_chunk[i] = uint8_t(i * 31);
  return m;
}

void expect_same(const FollowResponse& got, const FollowResponse& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.error, want.error);
  EXPECT_EQ(got.cluster_id, want.cluster_id);
  EXPECT_EQ(got.leader, want.leader);
  EXPECT_EQ(got.term, want.term);
  EXPECT_EQ(got.commit, want.commit);
  EXPECT_EQ(got.conf, want.conf);
  EXPECT_EQ(got.has_snapshot, want.has_snapshot);
  EXPECT_EQ(got.snapshot_meta, want.snapshot_meta);
  EXPECT_EQ(got.snapshot_size, want.snapshot_size);
  EXPECT_EQ(got.snapshot_offset, want.snapshot_offset);
  EXPECT_EQ(got.snapshot_chunk, want.snapshot_chunk);
  EXPECT_EQ(got.conf_committed, want.conf_committed);
  EXPECT_EQ(got.entries, want.entries);
}

void expect_decode_error(const Status& s, const std::string& what) {
  EXPECT_FALSE(s.is_ok()) << what;
  EXPECT_EQ(s.code(), StatusCode::kDecode) << what << ": " << s.to_string();
}

// ---- round trips -----------------------------------------------------------

TEST(ClusterRpc, ForwardRequestsRoundTrip) {
  std::vector<ForwardRequest> cases;
  cases.push_back(a_forward_request());
  ForwardRequest empty;  // everything empty but the target
  empty.target = "/";
  cases.push_back(empty);
  ForwardRequest big = a_forward_request();  // every field at its limit
  big.id = std::numeric_limits<uint64_t>::max();
  big.hops = 255;
  big.method = std::string(16, 'M');
  big.target = "/" + std::string((8 << 10) - 1, 't');
  big.body = std::string(kMaxForwardBody, '\xab');
  big.content_type = std::string(256, 'c');
  cases.push_back(big);
  ForwardRequest binary = a_forward_request();  // a body is bytes, NULs included
  binary.method = "POST";
  binary.body = std::string("\0\x01\xff\xfe", 4);
  cases.push_back(binary);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto frame = encode_frame(cases[i]);
    auto got = decode_forward_request(untag(frame));
    ASSERT_TRUE(got.is_ok()) << "case " << i << ": " << got.status().to_string();
    EXPECT_EQ(*got, cases[i]) << "case " << i;
  }
}

TEST(ClusterRpc, ForwardResponsesRoundTrip) {
  std::vector<ForwardResponse> cases;
  cases.push_back(a_forward_response());
  ForwardResponse empty;  // no body, no headers
  empty.status = 204;
  cases.push_back(empty);
  ForwardResponse edges = a_forward_response();
  edges.status = 100;
  cases.push_back(edges);
  edges.status = 599;
  cases.push_back(edges);
  ForwardResponse big = a_forward_response();  // 32 headers of 4 KiB names and values
  big.id = std::numeric_limits<uint64_t>::max();
  big.status = 503;
  big.body = std::string(kMaxForwardBody, 'b');
  big.content_type = std::string(256, 'c');
  big.headers.clear();
  for (int i = 0; i < 32; ++i) {
    big.headers.emplace_back(std::string(4 << 10, char('a' + i % 26)), std::string(4 << 10, 'v'));
  }
  cases.push_back(big);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto frame = encode_frame(cases[i]);
    auto got = decode_forward_response(untag(frame));
    ASSERT_TRUE(got.is_ok()) << "case " << i << ": " << got.status().to_string();
    EXPECT_EQ(*got, cases[i]) << "case " << i;
  }
}

TEST(ClusterRpc, FollowRequestsRoundTrip) {
  FollowRequest max;
  max.id = max.after = max.snapshot_index = max.snapshot_offset =
      std::numeric_limits<uint64_t>::max();
  max.max_bytes = max.wait_ms = std::numeric_limits<uint32_t>::max();
  max.term = std::numeric_limits<uint64_t>::max();
  FollowRequest zero;
  zero.max_bytes = 0;
  for (const FollowRequest& m : {a_follow_request(), FollowRequest{}, zero, max}) {
    auto got = decode_follow_request(untag(encode_frame(m)));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(*got, m);
  }
}

TEST(ClusterRpc, AFollowRequestFromAnOlderAgentIsAnsweredAtOnce) {
  // Agents before the long poll sent five fields; the missing wait reads as
  // 0 (answer at once), never as an error.
  auto old =
      with_tag_for_test(wire::encode_envelope(MsgType::kRpcFollowRequest, 1, [](wire::Packer& p) {
        p.pack_array(5);
        p.pack_uint64(7);
        p.pack_uint64(1000);
        p.pack_uint32(1u << 20);
        p.pack_uint64(0);
        p.pack_uint64(0);
      }));
  auto got = decode_follow_request(untag(old));
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->after, 1000u);
  EXPECT_EQ(got->wait_ms, 0u);
  EXPECT_EQ(got->term, 0u);
  EXPECT_FALSE(got->probe());
}

TEST(ClusterRpc, FollowResponsesRoundTrip) {
  std::vector<FollowResponse> cases;
  cases.push_back(a_follow_response_with_entries());
  cases.push_back(a_follow_response_with_snapshot());
  cases.push_back(FollowResponse{});  // nothing at all
  FollowResponse error;
  error.id = 3;
  error.error = std::string(1 << 10, 'e');
  error.cluster_id = std::string(64, 'c');
  cases.push_back(error);
  FollowResponse last = a_follow_response_with_snapshot();  // the final chunk, exactly to the end
  last.snapshot_offset = last.snapshot_size - last.snapshot_chunk.size();
  cases.push_back(last);
  FollowResponse empty_snapshot = a_follow_response_with_snapshot();
  empty_snapshot.snapshot_size = 0;
  empty_snapshot.snapshot_offset = 0;
  empty_snapshot.snapshot_chunk.clear();
  cases.push_back(empty_snapshot);
  FollowResponse many = a_follow_response_with_entries();  // the most entries one answer holds
  many.entries = entries(1, 65536);
  cases.push_back(many);
  FollowResponse big_entries = a_follow_response_with_entries();
  big_entries.entries = entries(77, 3);
  big_entries.entries[0].data.assign(4u << 20, 0x5a);
  cases.push_back(big_entries);
  for (size_t i = 0; i < cases.size(); ++i) {
    auto got = decode_follow_response(untag(encode_frame(cases[i])));
    ASSERT_TRUE(got.is_ok()) << "case " << i << ": " << got.status().to_string();
    SCOPED_TRACE("case " + std::to_string(i));
    expect_same(*got, cases[i]);
  }
}

// ---- framing ---------------------------------------------------------------

TEST(ClusterRpc, AFrameIsTheChannelTagThenTheEnvelope) {
  struct Case {
    std::string name;
    std::vector<uint8_t> frame;
    uint8_t tag;
    MsgType type;
  };
  const std::vector<Case> cases = {
      {"forward request", encode_frame(a_forward_request()), 0x02, MsgType::kRpcForwardRequest},
      {"forward response", encode_frame(a_forward_response()), 0x02, MsgType::kRpcForwardResponse},
      {"follow request", encode_frame(a_follow_request()), 0x03, MsgType::kRpcFollowRequest},
      {"follow response", encode_frame(a_follow_response_with_entries()), 0x03,
       MsgType::kRpcFollowResponse},
  };
  EXPECT_EQ(kForwardRpcChannel, 0x02);
  EXPECT_EQ(kFollowRpcChannel, 0x03);
  for (const Case& c : cases) {
    ASSERT_GE(c.frame.size(), 2u) << c.name;
    EXPECT_EQ(c.frame[0], c.tag) << c.name;
    auto env = wire::decode_envelope(untag(c.frame), wire::DecodeLimits{});
    ASSERT_TRUE(env.is_ok()) << c.name << ": " << env.status().to_string();
    EXPECT_EQ(env->type(), c.type) << c.name;
    EXPECT_EQ(env->version(), 1) << c.name;
  }
}

// The decoders take the frame without its tag; with the tag still on, the
// bytes are a fixint followed by trailing bytes, and are refused.
TEST(ClusterRpc, DecodersRefuseAFrameWithItsTag) {
  expect_decode_error(decode_forward_request(encode_frame(a_forward_request())).status(),
                      "fwd req");
  expect_decode_error(decode_forward_response(encode_frame(a_forward_response())).status(),
                      "fwd resp");
  expect_decode_error(decode_follow_request(encode_frame(a_follow_request())).status(), "fol req");
  expect_decode_error(
      decode_follow_response(encode_frame(a_follow_response_with_entries())).status(), "fol resp");
}

// ---- rejections -------------------------------------------------------------

// Each message decodes with its own decoder only (e.g. a forward request fed
// to the follow decoders, or a request to its response's decoder).
TEST(ClusterRpc, EachDecoderRefusesTheOtherEnvelopeTypes) {
  const std::vector<std::vector<uint8_t>> frames = {
      encode_frame(a_forward_request()), encode_frame(a_forward_response()),
      encode_frame(a_follow_request()), encode_frame(a_follow_response_with_entries())};
  using Decode = std::function<Status(std::span<const uint8_t>)>;
  const std::vector<Decode> decoders = {
      [](auto b) { return decode_forward_request(b).status(); },
      [](auto b) { return decode_forward_response(b).status(); },
      [](auto b) { return decode_follow_request(b).status(); },
      [](auto b) { return decode_follow_response(b).status(); },
  };
  for (size_t f = 0; f < frames.size(); ++f) {
    for (size_t d = 0; d < decoders.size(); ++d) {
      const Status s = decoders[d](untag(frames[f]));
      if (f == d) {
        EXPECT_TRUE(s.is_ok()) << "frame " << f << ": " << s.to_string();
      } else {
        expect_decode_error(s, "frame " + std::to_string(f) + " at decoder " + std::to_string(d));
      }
    }
  }
  // The body alone is the right shape; only the type tells them apart.
  auto relabelled = rewrite(encode_frame(a_forward_request()), [](Parts& p) {
    p.type = static_cast<uint16_t>(MsgType::kRpcFollowRequest);
  });
  auto s = decode_forward_request(relabelled).status();
  expect_decode_error(s, "relabelled");
  EXPECT_NE(s.to_string().find("wrong envelope type"), std::string::npos) << s.to_string();
}

TEST(ClusterRpc, TheRewriteHelperIsFaithful) {
  const auto frame = encode_frame(a_follow_response_with_snapshot());
  const auto same = rewrite(frame, [](Parts&) {});
  EXPECT_EQ(same, std::vector<uint8_t>(frame.begin() + 1, frame.end()));
}

TEST(ClusterRpc, VersionZeroIsRefusedAndNewerVersionsAccepted) {
  auto v = [](uint8_t version) { return [version](Parts& p) { p.version = version; }; };
  for (uint8_t version : {uint8_t{0}, uint8_t{1}, uint8_t{2}, uint8_t{255}}) {
    SCOPED_TRACE("version " + std::to_string(version));
    const Status s[] = {
        decode_forward_request(rewrite(encode_frame(a_forward_request()), v(version))).status(),
        decode_forward_response(rewrite(encode_frame(a_forward_response()), v(version))).status(),
        decode_follow_request(rewrite(encode_frame(a_follow_request()), v(version))).status(),
        decode_follow_response(rewrite(encode_frame(a_follow_response_with_entries()), v(version)))
            .status(),
    };
    for (const Status& st : s) {
      if (version == 0) {
        expect_decode_error(st, "version 0");
        EXPECT_NE(st.to_string().find("version 0"), std::string::npos) << st.to_string();
      } else {
        EXPECT_TRUE(st.is_ok()) << st.to_string();
      }
    }
  }
}

// Every proper prefix of every message is an error, never a crash.
TEST(ClusterRpc, EveryTruncationIsRefused) {
  FollowResponse small_snapshot = a_follow_response_with_snapshot();
  small_snapshot.snapshot_chunk.resize(40);
  const std::vector<std::vector<uint8_t>> frames = {
      encode_frame(a_forward_request()), encode_frame(a_forward_response()),
      encode_frame(a_follow_request()), encode_frame(a_follow_response_with_entries()),
      encode_frame(small_snapshot)};
  size_t tried = 0;
  for (size_t f = 0; f < frames.size(); ++f) {
    const auto env = untag(frames[f]);
    for (size_t n = 0; n < env.size(); ++n) {
      const auto prefix = env.first(n);
      const std::string what = "frame " + std::to_string(f) + " cut to " + std::to_string(n);
      expect_decode_error(decode_forward_request(prefix).status(), what);
      expect_decode_error(decode_forward_response(prefix).status(), what);
      expect_decode_error(decode_follow_request(prefix).status(), what);
      expect_decode_error(decode_follow_response(prefix).status(), what);
      ++tried;
    }
  }
  EXPECT_GT(tried, 500u);
}

TEST(ClusterRpc, ForwardRequestFieldsAreChecked) {
  struct Case {
    std::string name;
    std::function<void(ForwardRequest&)> edit;
  };
  const std::vector<Case> cases = {
      {"empty target", [](ForwardRequest& m) { m.target.clear(); }},
      {"relative target", [](ForwardRequest& m) { m.target = "v1/kv/x"; }},
      {"absolute URL as target", [](ForwardRequest& m) { m.target = "http://a/v1/kv/x"; }},
      {"target over 8 KiB", [](ForwardRequest& m) { m.target = "/" + std::string(8 << 10, 't'); }},
      {"method over 16 bytes", [](ForwardRequest& m) { m.method = std::string(17, 'M'); }},
      {"content type over 256 bytes",
       [](ForwardRequest& m) { m.content_type = std::string(257, 'c'); }},
      {"body over the limit",
       [](ForwardRequest& m) { m.body = std::string(kMaxForwardBody + 1, 'b'); }},
  };
  for (const Case& c : cases) {
    ForwardRequest m = a_forward_request();
    c.edit(m);
    expect_decode_error(decode_forward_request(untag(encode_frame(m))).status(), c.name);
  }
  // hops is a uint8 on the wire's decoder side: 256 does not fit.
  auto hops256 = rewrite(encode_frame(a_forward_request()),
                         [](Parts& p) { p.fields[1] = msgpack::object(uint64_t{256}); });
  expect_decode_error(decode_forward_request(hops256).status(), "hops 256");
  // A missing field (an older or broken sender) is an error, not a default.
  auto short_body =
      rewrite(encode_frame(a_forward_request()), [](Parts& p) { p.fields.resize(5); });
  expect_decode_error(decode_forward_request(short_body).status(), "no content type");
}

TEST(ClusterRpc, ForwardResponseStatusMustBeAnHttpStatus) {
  struct Case {
    uint32_t status;
    bool ok;
  };
  const Case cases[] = {{0, false},    {99, false},          {100, true},
                        {200, true},   {599, true},          {600, false},
                        {1000, false}, {65536 + 200, false}, {0xffffffffu, false}};
  for (const Case& c : cases) {
    ForwardResponse m = a_forward_response();
    m.status = c.status;
    const Status s = decode_forward_response(untag(encode_frame(m))).status();
    if (c.ok) {
      EXPECT_TRUE(s.is_ok()) << c.status << ": " << s.to_string();
    } else {
      expect_decode_error(s, "status " + std::to_string(c.status));
    }
  }
  // Above uint32 on the wire.
  auto huge = rewrite(encode_frame(a_forward_response()), [](Parts& p) {
    p.fields[1] = msgpack::object(uint64_t{(1ull << 32) + 200});
  });
  expect_decode_error(decode_forward_response(huge).status(), "status 2^32+200");
}

TEST(ClusterRpc, ForwardResponseHeadersAreCheckedPairs) {
  struct Case {
    std::string name;
    std::function<void(Parts&)> edit;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"odd header array",
       [](Parts& p) {
         p.fields[4] = msgpack::object(std::vector<std::string>{"X-A", "1", "X-B"}, p.zone);
       },
       false},
      {"a single name",
       [](Parts& p) { p.fields[4] = msgpack::object(std::vector<std::string>{"X-A"}, p.zone); },
       false},
      {"headers not an array", [](Parts& p) { p.fields[4] = msgpack::object(uint64_t{4}); }, false},
      {"a header value not a string",
       [](Parts& p) {
         std::vector<msgpack::object> h = {msgpack::object("X-A", p.zone),
                                           msgpack::object(uint64_t{1})};
         p.fields[4] = msgpack::object(h, p.zone);
       },
       false},
      {"33 pairs",
       [](Parts& p) { p.fields[4] = msgpack::object(std::vector<std::string>(66, "h"), p.zone); },
       false},
      {"32 pairs",
       [](Parts& p) { p.fields[4] = msgpack::object(std::vector<std::string>(64, "h"), p.zone); },
       true},
      {"a name over 4 KiB",
       [](Parts& p) {
         p.fields[4] = msgpack::object(
             std::vector<std::string>{std::string((4 << 10) + 1, 'n'), "v"}, p.zone);
       },
       false},
      {"headers missing", [](Parts& p) { p.fields.resize(4); }, false},
  };
  for (const Case& c : cases) {
    const Status s =
        decode_forward_response(rewrite(encode_frame(a_forward_response()), c.edit)).status();
    if (c.ok) {
      EXPECT_TRUE(s.is_ok()) << c.name << ": " << s.to_string();
    } else {
      expect_decode_error(s, c.name);
    }
  }
}

TEST(ClusterRpc, FollowResponseEntriesMustBeConsecutive) {
  struct Case {
    std::string name;
    std::vector<uint64_t> indexes;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"none", {}, true},
      {"one", {5}, true},
      {"consecutive", {5, 6, 7, 8}, true},
      {"a gap", {5, 6, 8}, false},
      {"a repeat", {5, 6, 6}, false},
      {"backwards", {7, 6}, false},
      {"from the largest index",
       {std::numeric_limits<uint64_t>::max() - 1, std::numeric_limits<uint64_t>::max()},
       true},
  };
  for (const Case& c : cases) {
    FollowResponse m = a_follow_response_with_entries();
    m.entries.clear();
    for (uint64_t i : c.indexes) {
      Entry e;
      e.term = Term(5);
      e.index = Index(i);
      e.data = bytes("x");
      m.entries.push_back(e);
    }
    const Status s = decode_follow_response(untag(encode_frame(m))).status();
    if (c.ok) {
      EXPECT_TRUE(s.is_ok()) << c.name << ": " << s.to_string();
    } else {
      expect_decode_error(s, c.name);
    }
  }
}

TEST(ClusterRpc, FollowResponseSnapshotChunkStaysWithinTheSnapshot) {
  struct Case {
    std::string name;
    bool has_snapshot;
    uint64_t size;
    uint64_t offset;
    size_t chunk;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"inside", true, 100, 10, 50, true},
      {"to the end", true, 100, 50, 50, true},
      {"one byte beyond", true, 100, 51, 50, false},
      {"offset beyond", true, 100, 101, 0, false},
      {"chunk larger than the snapshot", true, 10, 0, 11, false},
      {"no snapshot: not checked", false, 0, 5, 1, true},
  };
  for (const Case& c : cases) {
    FollowResponse m = a_follow_response_with_snapshot();
    m.has_snapshot = c.has_snapshot;
    m.snapshot_size = c.size;
    m.snapshot_offset = c.offset;
    m.snapshot_chunk.assign(c.chunk, 0x42);
    const Status s = decode_follow_response(untag(encode_frame(m))).status();
    if (c.ok) {
      EXPECT_TRUE(s.is_ok()) << c.name << ": " << s.to_string();
    } else {
      expect_decode_error(s, c.name);
    }
  }
}

// Regression: decode_follow_response once checked
// `snapshot_offset + snapshot_chunk.size() > snapshot_size`, which wraps in
// uint64, so an offset near 2^64 with a non-empty chunk passed.
TEST(ClusterRpc, FollowResponseSnapshotBoundsDoNotWrap) {
  FollowResponse m = a_follow_response_with_snapshot();
  m.snapshot_size = 100;
  m.snapshot_offset = std::numeric_limits<uint64_t>::max();
  m.snapshot_chunk.assign(1, 0x42);
  expect_decode_error(decode_follow_response(untag(encode_frame(m))).status(), "offset 2^64-1");
}

// Regression: the consecutiveness check once computed `back().index + 1`,
// which wraps, so an entry at index 2^64-1 followed by one at index 0 passed.
TEST(ClusterRpc, FollowResponseEntryIndexesDoNotWrap) {
  FollowResponse m = a_follow_response_with_entries();
  m.entries = entries(std::numeric_limits<uint64_t>::max(), 2);  // indexes 2^64-1, 0
  ASSERT_EQ(m.entries[1].index.value(), 0u);
  expect_decode_error(decode_follow_response(untag(encode_frame(m))).status(), "2^64-1, 0");
}

TEST(ClusterRpc, FollowResponseFieldsAreChecked) {
  struct Case {
    std::string name;
    std::function<void(Parts&)> edit;
  };
  const std::vector<Case> cases = {
      {"error over 1 KiB",
       [](Parts& p) { p.fields[1] = msgpack::object(std::string((1 << 10) + 1, 'e'), p.zone); }},
      {"cluster id over 64 bytes",
       [](Parts& p) { p.fields[2] = msgpack::object(std::string(65, 'c'), p.zone); }},
      {"leader of 15 bytes",
       [](Parts& p) { p.fields[3] = msgpack::object(std::vector<char>(15, 'x'), p.zone); }},
      {"conf not an encoded ConfState",
       [](Parts& p) { p.fields[6] = msgpack::object(std::string("nope"), p.zone); }},
      {"has_snapshot not a bool", [](Parts& p) { p.fields[7] = msgpack::object(uint64_t{1}); }},
      {"entries not an array", [](Parts& p) { p.fields[12] = msgpack::object(uint64_t{0}); }},
      {"entries missing", [](Parts& p) { p.fields.resize(12); }},
      {"an entry not an encoded Entry",
       [](Parts& p) {
         std::vector<msgpack::object> e = {msgpack::object(std::string("x"), p.zone)};
         p.fields[12] = msgpack::object(e, p.zone);
       }},
  };
  for (const Case& c : cases) {
    expect_decode_error(
        decode_follow_response(rewrite(encode_frame(a_follow_response_with_entries()), c.edit))
            .status(),
        c.name);
  }
  // An unsorted configuration is corruption.
  FollowResponse unsorted = a_follow_response_with_entries();
  unsorted.conf.voters = {kN3, kN1, kN2};
  expect_decode_error(decode_follow_response(untag(encode_frame(unsorted))).status(), "unsorted");
  // More entries than one answer may hold.
  FollowResponse many = a_follow_response_with_entries();
  many.entries = entries(1, 65537);
  expect_decode_error(decode_follow_response(untag(encode_frame(many))).status(), "65537 entries");
}

// A newer sender appends fields; this decoder ignores them (and the values
// it knows still decode).
TEST(ClusterRpc, TrailingFieldsFromANewerSenderAreIgnored) {
  auto extra = [](Parts& p) {
    p.version = 2;
    p.fields.push_back(msgpack::object(uint64_t{123456789}));
    p.fields.push_back(msgpack::object(std::string("a newer field"), p.zone));
    p.fields.push_back(msgpack::object(std::vector<uint64_t>{1, 2, 3}, p.zone));
    p.fields.push_back(msgpack::object(true));
  };
  {
    auto got = decode_forward_request(rewrite(encode_frame(a_forward_request()), extra));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(*got, a_forward_request());
  }
  {
    auto got = decode_forward_response(rewrite(encode_frame(a_forward_response()), extra));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(*got, a_forward_response());
  }
  {
    auto got = decode_follow_request(rewrite(encode_frame(a_follow_request()), extra));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(*got, a_follow_request());
  }
  for (const FollowResponse& m :
       {a_follow_response_with_entries(), a_follow_response_with_snapshot()}) {
    auto got = decode_follow_response(rewrite(encode_frame(m), extra));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    expect_same(*got, m);
  }
}

}  // namespace
}  // namespace shoal::node
