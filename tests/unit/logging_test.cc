#include "core/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace shoal {
namespace {

TEST(LoggingTest, UnknownLevelIsRejected) {
  Status s = setup_logging("loud", false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("loud"), std::string::npos);
  EXPECT_TRUE(setup_logging("off", false).is_ok());
}

TEST(LoggingTest, JsonLinesAreValidJsonWithEscaping) {
  ASSERT_TRUE(setup_logging("info", true).is_ok());
  testing::internal::CaptureStderr();
  spdlog::info("quote \" backslash \\ newline \n tab \t done");
  spdlog::debug("below the level");
  spdlog::default_logger()->flush();
  std::string out = testing::internal::GetCapturedStderr();
  std::istringstream lines(out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["msg"], "quote \" backslash \\ newline \n tab \t done");
    EXPECT_TRUE(j.contains("ts"));
  }
  EXPECT_EQ(n, 1);
}

TEST(LoggingTest, TextLevelFilters) {
  ASSERT_TRUE(setup_logging("warn", false).is_ok());
  testing::internal::CaptureStderr();
  spdlog::info("hidden");
  spdlog::warn("shown");
  spdlog::default_logger()->flush();
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("shown"), std::string::npos);
}

}  // namespace
}  // namespace shoal
