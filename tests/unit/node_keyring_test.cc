// The keyring file format and the keyring query codec and apply step.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/keyring_file.h"
#include "node/keyring_query.h"

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

TEST(KeyringQueryTest, RequestAndReplyRoundTrip) {
  for (auto op : {KeyringOp::kInstall, KeyringOp::kUse, KeyringOp::kRemove}) {
    auto back = decode_keyring_request(encode_keyring_request({op, key_of(9)}));
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->op, op);
    ASSERT_TRUE(back->key.has_value());
    EXPECT_EQ(*back->key, key_of(9));
  }
  auto list = decode_keyring_request(encode_keyring_request({KeyringOp::kList, std::nullopt}));
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
  auto no_key = encode_keyring_request({KeyringOp::kList, std::nullopt});
  no_key[2] = static_cast<uint8_t>(KeyringOp::kInstall);
  EXPECT_FALSE(decode_keyring_request(no_key).is_ok());
  // An unknown op and an unknown version.
  auto bad_op = encode_keyring_request({KeyringOp::kList, std::nullopt});
  bad_op[2] = 9;
  EXPECT_FALSE(decode_keyring_request(bad_op).is_ok());
  auto bad_version = encode_keyring_request({KeyringOp::kList, std::nullopt});
  bad_version[1] = 2;
  EXPECT_FALSE(decode_keyring_request(bad_version).is_ok());
  EXPECT_EQ(parse_keyring_op("install"), KeyringOp::kInstall);
  EXPECT_FALSE(parse_keyring_op("frob").has_value());
}

TEST(KeyringQueryTest, ApplyIsIdempotentAndNeverDropsThePrimary) {
  crypto::Keyring ring(key_of(1));
  bool changed = false;
  auto r = apply_keyring_request(ring, {KeyringOp::kInstall, key_of(2)}, &changed);
  EXPECT_TRUE(r.ok && changed);
  r = apply_keyring_request(ring, {KeyringOp::kInstall, key_of(2)}, &changed);
  EXPECT_TRUE(r.ok && !changed);
  r = apply_keyring_request(ring, {KeyringOp::kUse, key_of(2)}, &changed);
  EXPECT_TRUE(r.ok && changed);
  EXPECT_EQ(r.primary, key_of(2).id());
  r = apply_keyring_request(ring, {KeyringOp::kUse, key_of(2)}, &changed);
  EXPECT_TRUE(r.ok && !changed);
  r = apply_keyring_request(ring, {KeyringOp::kRemove, key_of(2)}, &changed);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(changed);
  EXPECT_NE(r.error.find("primary"), std::string::npos) << r.error;
  r = apply_keyring_request(ring, {KeyringOp::kRemove, key_of(1)}, &changed);
  EXPECT_TRUE(r.ok && changed);
  EXPECT_EQ(r.key_ids, std::vector<uint32_t>{key_of(2).id()});
  r = apply_keyring_request(ring, {KeyringOp::kRemove, key_of(1)}, &changed);
  EXPECT_TRUE(r.ok && !changed) << "removing an absent key succeeds (retries)";
  r = apply_keyring_request(ring, {KeyringOp::kUse, key_of(3)}, &changed);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(changed);
  r = apply_keyring_request(ring, {KeyringOp::kList, std::nullopt}, &changed);
  EXPECT_TRUE(r.ok && !changed);
}

}  // namespace
}  // namespace shoal::node
