#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace shoal {
namespace {

TEST(StatusTest, OkAndErrors) {
  Status ok;
  EXPECT_TRUE(ok.is_ok());
  EXPECT_EQ(ok.to_string(), "ok");
  Status bad = Status::decode("truncated");
  EXPECT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.code(), StatusCode::kDecode);
  EXPECT_EQ(bad.to_string(), "decode: truncated");
  EXPECT_STREQ(status_code_name(StatusCode::kReplay), "replay");
}

Status fails_then_stops(int* reached) {
  SHOAL_RETURN_IF_ERROR(Status::auth("nope"));
  *reached = 1;
  return Status::ok();
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  int reached = 0;
  Status s = fails_then_stops(&reached);
  EXPECT_EQ(s.code(), StatusCode::kAuth);
  EXPECT_EQ(reached, 0);
}

TEST(ResultTest, ValueAndError) {
  Result<int> v = 7;
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(*v, 7);
  EXPECT_TRUE(v.status().is_ok());
  Result<int> e = Status::not_found("x");
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 3);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> e = Status::internal("boom");
  EXPECT_DEATH((void)e.value(), "internal: boom");
}

TEST(ResultDeathTest, OkStatusIsNotAnError) {
  EXPECT_DEATH(
      {
        Result<int> r{Status::ok()};
        (void)r;
      },
      "ok Status");
}

TEST(CheckDeathTest, BrokenInvariantAborts) {
  EXPECT_DEATH(SHOAL_CHECK_MSG(1 + 1 == 3, "maths"), "SHOAL_CHECK failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace shoal
