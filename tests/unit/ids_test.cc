#include "core/ids.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "core/rng.h"

namespace shoal {
namespace {

TEST(NodeIdTest, HexRoundTrip) {
  NodeId id(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  EXPECT_EQ(id.to_string(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(id.short_string(), "01234567");
  auto parsed = NodeId::parse("0123456789ABCDEFfedcba9876543210");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(parsed->hi(), 0x0123456789abcdefULL);
  EXPECT_EQ(parsed->lo(), 0xfedcba9876543210ULL);
}

TEST(NodeIdTest, ParseRejectsBadInput) {
  EXPECT_FALSE(NodeId::parse(""));
  EXPECT_FALSE(NodeId::parse("0123"));
  EXPECT_FALSE(NodeId::parse("0123456789abcdeffedcba98765432100"));
  EXPECT_FALSE(NodeId::parse("0123456789abcdeffedcba987654321g"));
  EXPECT_EQ(NodeId::parse("xyz").status().code(), StatusCode::kInvalidArgument);
}

TEST(NodeIdTest, RandomIdsAreDistinctAndSeeded) {
  Rng a(42), b(42);
  std::unordered_set<NodeId> seen;
  for (int i = 0; i < 1000; ++i) {
    NodeId x = NodeId::random(a);
    EXPECT_EQ(x, NodeId::random(b));
    EXPECT_FALSE(x.is_zero());
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(NodeIdTest, OrderingIsByBytes) {
  EXPECT_LT(NodeId(0, 5), NodeId(1, 0));
  EXPECT_LT(NodeId(1, 0), NodeId(1, 1));
  EXPECT_TRUE(NodeId().is_zero());
}

TEST(StrongTest, DistinctTypesCompare) {
  using Term = Strong<uint64_t, struct TermTag>;
  using Index = Strong<uint64_t, struct IndexTag>;
  static_assert(!std::is_convertible_v<Term, Index>);
  static_assert(!std::is_convertible_v<uint64_t, Term>);
  Term t(3);
  EXPECT_LT(t, t.next());
  EXPECT_EQ(t.next().value(), 4u);
  EXPECT_EQ(Index().value(), 0u);
}

}  // namespace
}  // namespace shoal
