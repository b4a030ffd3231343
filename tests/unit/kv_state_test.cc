// The KV state machine (scheduler/kv_state.h): put/get/delete/list, create
// and modify indexes, check-and-set, limits, snapshot/restore, and that
// replicas applying the same log agree (hash) while bad entries change
// nothing.
#include "scheduler/kv_state.h"

#include <gtest/gtest.h>

#include <string>

#include "core/rng.h"

namespace shoal::scheduler {
namespace {

std::vector<uint8_t> v(const std::string& s) { return {s.begin(), s.end()}; }

KvCommand put(std::string key, std::string value, std::optional<uint64_t> cas = {}) {
  return KvCommand{KvCommand::Op::kPut, std::move(key), v(value), cas};
}
KvCommand del(std::string key, std::optional<uint64_t> cas = {}) {
  return KvCommand{KvCommand::Op::kDelete, std::move(key), {}, cas};
}
KvCommand del_tree(std::string prefix) {
  return KvCommand{KvCommand::Op::kDeleteTree, std::move(prefix), {}, std::nullopt};
}

TEST(KvState, PutGetKeepsCreateAndModifyIndexes) {
  KvState s;
  EXPECT_EQ(s.apply(5, put("a/b", "1")), KvOutcome::kApplied);
  EXPECT_EQ(s.apply(9, put("a/b", "2")), KvOutcome::kApplied);
  auto e = s.get("a/b");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->value, v("2"));
  EXPECT_EQ(e->create_index, 5u);
  EXPECT_EQ(e->modify_index, 9u);
  EXPECT_EQ(s.index(), 9u);
  EXPECT_FALSE(s.get("a").has_value());
}

TEST(KvState, CheckAndSetOnTheModifyIndex) {
  KvState s;
  EXPECT_EQ(s.apply(1, put("k", "a", 0)), KvOutcome::kApplied) << "cas 0 creates";
  EXPECT_EQ(s.apply(2, put("k", "b", 0)), KvOutcome::kCasFailed) << "cas 0 only creates";
  EXPECT_EQ(s.apply(3, put("k", "c", 7)), KvOutcome::kCasFailed);
  EXPECT_EQ(s.get("k")->value, v("a"));
  EXPECT_EQ(s.index(), 1u) << "a failed cas changes nothing";
  EXPECT_EQ(s.apply(4, put("k", "d", 1)), KvOutcome::kApplied);
  EXPECT_EQ(s.get("k")->modify_index, 4u);
  EXPECT_EQ(s.apply(5, del("k", 1)), KvOutcome::kCasFailed);
  EXPECT_EQ(s.apply(6, del("k", 4)), KvOutcome::kApplied);
  EXPECT_FALSE(s.get("k").has_value());
  EXPECT_EQ(s.apply(7, put("k", "e", 4)), KvOutcome::kCasFailed) << "a deleted key has no index";
}

TEST(KvState, DeletesAndListsByPrefix) {
  KvState s;
  uint64_t i = 0;
  for (const char* k : {"app/a", "app/b", "app/c/d", "apple", "b"}) {
    ASSERT_EQ(s.apply(++i, put(k, k)), KvOutcome::kApplied);
  }
  auto l = s.list("app/");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].key, "app/a");
  EXPECT_EQ(l[2].key, "app/c/d");
  EXPECT_EQ(s.list("app").size(), 4u);
  EXPECT_EQ(s.list("app", 2).size(), 2u);
  EXPECT_EQ(s.apply(++i, del("nope")), KvOutcome::kNotFound);
  EXPECT_EQ(s.apply(++i, del_tree("app/")), KvOutcome::kApplied);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.index(), i) << "deletes move the index (blocking queries wake)";
  EXPECT_EQ(s.apply(++i, del_tree("zzz")), KvOutcome::kNotFound);
}

TEST(KvState, KeysAndValuesAreBounded) {
  EXPECT_TRUE(validate_key("a/b/c").is_ok());
  EXPECT_TRUE(validate_key("caf\xc3\xa9").is_ok());
  EXPECT_FALSE(validate_key("").is_ok());
  EXPECT_FALSE(validate_key("/lead").is_ok());
  EXPECT_FALSE(validate_key(std::string("a\0b", 3)).is_ok());
  EXPECT_FALSE(validate_key("\xc3").is_ok()) << "truncated sequence";
  EXPECT_FALSE(validate_key("\xc0\xaf").is_ok()) << "overlong";
  EXPECT_FALSE(validate_key("\xed\xa0\x80").is_ok()) << "surrogate";
  EXPECT_TRUE(validate_key(std::string(512, 'k')).is_ok());
  EXPECT_EQ(validate_key(std::string(513, 'k')).code(), StatusCode::kTooLarge);
  KvState s;
  KvCommand big = put("k", "");
  big.value.assign(kMaxValueBytes + 1, 'x');
  EXPECT_EQ(s.apply(1, big), KvOutcome::kInvalid);
  big.value.resize(kMaxValueBytes);
  EXPECT_EQ(s.apply(2, big), KvOutcome::kApplied);
  KvCommand tree_cas = del_tree("a");
  tree_cas.cas = 3;
  EXPECT_EQ(s.apply(3, tree_cas), KvOutcome::kInvalid);
}

TEST(KvState, CommandsRoundTripAndBadBytesAreRejected) {
  for (const KvCommand& c : {put("a", "b"), put("a", "", 0), del("x", 9), del_tree("p/")}) {
    auto back = decode_kv_command(encode(c));
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(*back, c);
  }
  std::vector<uint8_t> bytes = encode(put("a", "b"));
  bytes.pop_back();
  EXPECT_FALSE(decode_kv_command(bytes).is_ok());
  EXPECT_FALSE(decode_kv_command(KvState().snapshot()).is_ok()) << "wrong envelope type";
  auto bad = decode_kv_command(encode(put("/abs", "b")));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'/'"), std::string::npos) << bad.status().to_string();
  KvState s;
  EXPECT_EQ(s.apply_bytes(1, bytes), KvOutcome::kInvalid);
  EXPECT_EQ(s.applied(), 1u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(KvState, SnapshotRestoresTheSameState) {
  KvState s;
  Rng rng(42);
  for (uint64_t i = 1; i <= 500; ++i) {
    const std::string key = "k" + std::to_string(rng.uniform(60));
    if (rng.chance(0.2)) {
      (void)s.apply(i, del(key));
    } else {
      (void)s.apply(i, put(key, std::to_string(i)));
    }
  }
  auto r = KvState::restore(s.snapshot());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->hash(), s.hash());
  EXPECT_EQ(r->index(), s.index());
  EXPECT_EQ(r->applied(), s.applied());
  EXPECT_EQ(r->list(""), s.list(""));
  std::vector<uint8_t> snap = s.snapshot();
  snap.resize(snap.size() / 2);
  EXPECT_FALSE(KvState::restore(snap).is_ok());
}

// Replicas that apply the same entries agree; the hash sees any difference.
TEST(KvState, ReplicasApplyingTheSameLogAgree) {
  std::vector<std::vector<uint8_t>> log;
  Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    const std::string key = "svc/" + std::to_string(rng.uniform(20));
    const uint64_t roll = rng.uniform(10);
    if (roll < 6) {
      log.push_back(
          encode(put(key, "v" + std::to_string(i),
                     rng.chance(0.3) ? std::optional<uint64_t>(rng.uniform(40)) : std::nullopt)));
    } else if (roll < 9) {
      log.push_back(encode(del(key)));
    } else {
      log.push_back({0x93, 0x01});  // garbage: every replica rejects it alike
    }
  }
  KvState a;
  KvState b;
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(a.apply_bytes(i + 1, log[i]), b.apply_bytes(i + 1, log[i]));
  }
  EXPECT_EQ(a.hash(), b.hash());
  KvState c;
  for (size_t i = 0; i + 1 < log.size(); ++i) (void)c.apply_bytes(i + 1, log[i]);
  (void)c.apply(log.size(), put("extra", "x"));
  EXPECT_NE(c.hash(), a.hash());
}

}  // namespace
}  // namespace shoal::scheduler
