// The keyring file format, the keyring query codec and apply step, and the
// body of POST /v1/keyring.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/host/keyring_file.h"
#include "node/http/keyring_http.h"
#include "node/membership/keyring_query.h"

namespace shoal::node {
namespace {

crypto::ClusterKey key_of(uint8_t fill) {
  crypto::ClusterKey::Bytes b;
  b.fill(fill);
  return crypto::ClusterKey::from_bytes(b);
}

TEST(KeyringFileTest, JsonRoundTrip) {
  crypto::Keyring ring(key_of(1));
  ASSERT_TRUE(ring.install(key_of(2)).is_ok());
  ASSERT_TRUE(ring.install(key_of(3)).is_ok());
  ASSERT_TRUE(ring.use(key_of(2).id()).is_ok());
  const std::string text = encode_keyring(ring);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["primary"], key_of(2).to_base64());
  EXPECT_EQ(j["keys"].size(), 3u);
  auto back = decode_keyring(text, "test");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->primary(), key_of(2));
  ASSERT_EQ(back->keys().size(), 3u);
  for (const auto& k : ring.keys()) EXPECT_NE(back->find(k.id()), nullptr);
}

TEST(KeyringFileTest, PlainLinesFirstIsPrimary) {
  const std::string text = "\n" + key_of(5).to_base64() + "\r\n  \n" + key_of(6).to_base64();
  auto ring = decode_keyring(text, "keys.txt");
  ASSERT_TRUE(ring.is_ok()) << ring.status().to_string();
  EXPECT_EQ(ring->primary(), key_of(5));
  EXPECT_EQ(ring->keys().size(), 2u);
  // A primary listed again in "keys" is not a duplicate.
  auto dup = decode_keyring(R"({"primary": ")" + key_of(5).to_base64() + R"(", "keys": [")" +
                                key_of(5).to_base64() + "\"]}",
                            "f");
  ASSERT_TRUE(dup.is_ok());
  EXPECT_EQ(dup->keys().size(), 1u);
}

TEST(KeyringFileTest, RejectsMalformedFilesNamingThem) {
  for (const std::string& text :
       {std::string(""), std::string("\n\n"), std::string("not-base64"), std::string("{"),
        std::string(R"({"keys": []})"), std::string(R"({"primary": 7})"),
        std::string(R"({"primary": "c2hvcnQ="})"),
        R"({"primary": ")" + key_of(1).to_base64() + R"(", "keys": [1]})",
        R"({"primary": ")" + key_of(1).to_base64() + R"(", "keys": "x"})"}) {
    auto ring = decode_keyring(text, "/d/keyring");
    ASSERT_FALSE(ring.is_ok()) << text;
    EXPECT_EQ(ring.status().code(), StatusCode::kDecode);
    EXPECT_TRUE(ring.status().message().starts_with("/d/keyring is not a keyring"))
        << ring.status().message();
  }
}

TEST(KeyringFileTest, KeyIdHex) {
  EXPECT_EQ(key_id_hex(0x1a2b3c4d), "1a2b3c4d");
  EXPECT_EQ(key_id_hex(7), "00000007");
}

TEST(KeyringFileTest, ParseKeyIdHex) {
  EXPECT_EQ(parse_key_id_hex("1a2b3c4d"), 0x1a2b3c4du);
  EXPECT_EQ(parse_key_id_hex("1A2B3C4D"), 0x1a2b3c4du);
  EXPECT_EQ(parse_key_id_hex(key_id_hex(7)), 7u);
  for (std::string_view bad :
       {"", "1a2b3c4", "1a2b3c4d5", "-1a2b3c4", "0x1a2b3c", "1a2b3c4g", " 1a2b3c4", "+1a2b3c4"}) {
    EXPECT_FALSE(parse_key_id_hex(bad).has_value()) << bad;
  }
}

TEST(KeyringQueryTest, RequestAndReplyRoundTrip) {
  auto install = decode_keyring_request(encode_keyring_request(KeyringRequest::install(key_of(9))));
  ASSERT_TRUE(install.is_ok()) << install.status().to_string();
  EXPECT_EQ(install->op, KeyringOp::kInstall);
  ASSERT_TRUE(install->key.has_value());
  EXPECT_EQ(*install->key, key_of(9));
  EXPECT_EQ(install->key_id, key_of(9).id());
  for (auto request : {KeyringRequest::use(0xdeadbeef), KeyringRequest::remove(0xdeadbeef)}) {
    const auto bytes = encode_keyring_request(request);
    auto back = decode_keyring_request(bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->op, request.op);
    EXPECT_EQ(back->key_id, 0xdeadbeefu);
    EXPECT_FALSE(back->key.has_value()) << "only install carries key material";
    EXPECT_LT(bytes.size(), 16u);
  }
  auto list = decode_keyring_request(encode_keyring_request(KeyringRequest::list()));
  ASSERT_TRUE(list.is_ok());
  EXPECT_EQ(list->op, KeyringOp::kList);
  EXPECT_FALSE(list->key.has_value());

  KeyringReply reply{false, "nope", 42, {42, 7}};
  auto r = decode_keyring_reply(encode_keyring_reply(reply));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->error, "nope");
  EXPECT_EQ(r->primary, 42u);
  EXPECT_EQ(r->key_ids, (std::vector<uint32_t>{42, 7}));
  // A reply stays small enough for one UDP packet whatever the error says.
  reply.error = std::string(5000, 'e');
  EXPECT_LT(encode_keyring_reply(reply).size(), 1200u);
}

TEST(KeyringQueryTest, RejectsBadRequests) {
  EXPECT_FALSE(decode_keyring_request(std::vector<uint8_t>{0x01}).is_ok());
  EXPECT_FALSE(decode_keyring_request({}).is_ok());
  // install without a key.
  auto no_key = encode_keyring_request(KeyringRequest::list());
  no_key[2] = static_cast<uint8_t>(KeyringOp::kInstall);
  EXPECT_FALSE(decode_keyring_request(no_key).is_ok());
  // use or remove with key material: refused.
  auto with_key = encode_keyring_request(KeyringRequest::install(key_of(4)));
  with_key[2] = static_cast<uint8_t>(KeyringOp::kUse);
  EXPECT_FALSE(decode_keyring_request(with_key).is_ok());
  // install whose key id does not match its key.
  auto mismatch = encode_keyring_request(KeyringRequest::install(key_of(4)));
  mismatch.back() ^= 1;
  EXPECT_FALSE(decode_keyring_request(mismatch).is_ok());
  // An unknown op and an unknown version (1 carried keys for use and remove).
  auto bad_op = encode_keyring_request(KeyringRequest::list());
  bad_op[2] = 9;
  EXPECT_FALSE(decode_keyring_request(bad_op).is_ok());
  for (uint8_t version : {1, 3}) {
    auto bad_version = encode_keyring_request(KeyringRequest::list());
    bad_version[1] = version;
    EXPECT_FALSE(decode_keyring_request(bad_version).is_ok()) << int{version};
  }
  EXPECT_EQ(parse_keyring_op("install"), KeyringOp::kInstall);
  EXPECT_FALSE(parse_keyring_op("frob").has_value());
}

TEST(KeyringQueryTest, ApplyIsIdempotentAndNeverDropsThePrimary) {
  crypto::Keyring ring(key_of(1));
  bool changed = false;
  auto r = apply_keyring_request(ring, KeyringRequest::install(key_of(2)), &changed);
  EXPECT_TRUE(r.ok && changed);
  r = apply_keyring_request(ring, KeyringRequest::install(key_of(2)), &changed);
  EXPECT_TRUE(r.ok && !changed);
  r = apply_keyring_request(ring, KeyringRequest::use(key_of(2).id()), &changed);
  EXPECT_TRUE(r.ok && changed);
  EXPECT_EQ(r.primary, key_of(2).id());
  r = apply_keyring_request(ring, KeyringRequest::use(key_of(2).id()), &changed);
  EXPECT_TRUE(r.ok && !changed);
  r = apply_keyring_request(ring, KeyringRequest::remove(key_of(2).id()), &changed);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(changed);
  EXPECT_NE(r.error.find("primary"), std::string::npos) << r.error;
  r = apply_keyring_request(ring, KeyringRequest::remove(key_of(1).id()), &changed);
  EXPECT_TRUE(r.ok && changed);
  EXPECT_EQ(r.key_ids, std::vector<uint32_t>{key_of(2).id()});
  r = apply_keyring_request(ring, KeyringRequest::remove(key_of(1).id()), &changed);
  EXPECT_TRUE(r.ok && !changed) << "removing an absent key succeeds (retries)";
  r = apply_keyring_request(ring, KeyringRequest::use(key_of(3).id()), &changed);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(changed);
  EXPECT_NE(r.error.find("not installed"), std::string::npos) << r.error;
  r = apply_keyring_request(ring, KeyringRequest::list(), &changed);
  EXPECT_TRUE(r.ok && !changed);
}

TEST(KeyringHttpTest, OnlyInstallCarriesAKey) {
  const std::string key = key_of(5).to_base64();
  const std::string id = key_id_hex(key_of(5).id());
  auto install = parse_keyring_post(R"({"op": "install", "key": ")" + key + "\"}");
  ASSERT_TRUE(std::holds_alternative<KeyringRequest>(install));
  EXPECT_EQ(std::get<KeyringRequest>(install).key_id, key_of(5).id());
  for (std::string op : {"use", "remove"}) {
    auto ok = parse_keyring_post(R"({"op": ")" + op + R"(", "key_id": ")" + id + "\"}");
    ASSERT_TRUE(std::holds_alternative<KeyringRequest>(ok)) << op;
    EXPECT_EQ(std::get<KeyringRequest>(ok).key_id, key_of(5).id());
    EXPECT_FALSE(std::get<KeyringRequest>(ok).key.has_value());
  }
  struct Bad {
    std::string body;
    std::string field;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"[]", ""},
           {R"({"op": "list"})", "op"},
           {R"({"op": "install"})", "key"},
           {R"({"op": "install", "key": "abc"})", "key"},
           {R"({"op": "install", "key_id": ")" + id + "\"}", "key"},
           {R"({"op": "use", "key": ")" + key + "\"}", "key"},
           {R"({"op": "remove", "key": ")" + key + R"(", "key_id": ")" + id + "\"}", "key"},
           {R"({"op": "use"})", "key_id"},
           {R"({"op": "use", "key_id": 12})", "key_id"},
           {R"({"op": "remove", "key_id": "xyz"})", "key_id"},
       }) {
    auto r = parse_keyring_post(bad.body);
    ASSERT_TRUE(std::holds_alternative<HttpResponse>(r)) << bad.body;
    const auto& resp = std::get<HttpResponse>(r);
    EXPECT_EQ(resp.status, 400u) << bad.body;
    auto j = nlohmann::json::parse(resp.body);
    EXPECT_EQ(j.value("field", std::string()), bad.field) << bad.body;
    EXPECT_EQ(resp.body.find(key), std::string::npos) << "never echo a key";
  }
}

}  // namespace
}  // namespace shoal::node
