#include "core/time.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(DurationTest, ParseTable) {
  struct Case {
    const char* text;
    Duration want;
  } cases[] = {
      {"0", 0ns},     {"0s", 0ns},      {"500ms", 500ms}, {"5s", 5s},       {"2m", 2min},
      {"1h", 1h},     {"1h30m", 90min}, {"2.5s", 2500ms}, {"250us", 250us}, {"10ns", 10ns},
      {"1m30s", 90s}, {"0.5ms", 500us}, {"100µs", 100us}, {"24h", 24h},
  };
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d) << c.text << ": " << d.status().to_string();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(DurationTest, ParseRejects) {
  for (const char* bad : {"", "5", "s", "-1s", "5x", "1.2.3s", "ms5", "5 s", "1e3s"}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(parse_duration("99999999999h"));
}

// Malformed numbers are errors, never exceptions (a query's ?wait=.s once
// answered 500 with "stold").
TEST(DurationTest, ParseRejectsMalformedNumbersWithoutThrowing) {
  const std::string huge = "1" + std::string(5000, '0') + "s";
  const std::string many_zeros = std::string(400, '0') + "1s";
  for (const std::string& bad :
       {std::string("."), std::string(".s"), std::string("..s"), std::string("1..5s"),
        std::string(".ms"), std::string("1s.s"), std::string("nan"), std::string("infs"),
        std::string("+1s"), std::string("1s-"), huge, std::string("18446744073709551616ns"),
        std::string("9223372036854775808ns"), std::string("2562048h"),
        std::string("2562047h47m16.854775808s")}) {
    Result<Duration> d = Status::internal("not called");
    EXPECT_NO_THROW(d = parse_duration(bad)) << bad;
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  // The edges that are valid.
  EXPECT_EQ(*parse_duration("9223372036854775807ns"), Duration(INT64_MAX));
  EXPECT_EQ(*parse_duration("2562047h47m16.854775807s"), Duration(INT64_MAX));
  EXPECT_EQ(*parse_duration(many_zeros), 1s);
  EXPECT_EQ(*parse_duration(".5s"), 500ms);
  EXPECT_EQ(*parse_duration("5.s"), 5s);
  EXPECT_EQ(*parse_duration("1.0000000001s"), 1s);  // below a nanosecond: rounded
  EXPECT_EQ(*parse_duration("1.5ns"), 2ns);
  EXPECT_EQ(*parse_duration("0.1234567891234567891234h"), Duration(444444440844));
}

TEST(DurationTest, FormatTable) {
  EXPECT_EQ(format_duration(0ns), "0s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(1500us), "1.5ms");
  EXPECT_EQ(format_duration(7ns), "7ns");
  EXPECT_EQ(format_duration(-5s), "-5s");
}

TEST(DurationTest, FormatParsesBack) {
  for (Duration d : std::initializer_list<Duration>{Duration(1), Duration(999), 1ms, 1234567us, 61s,
                                                    3601s, 25h + 1ms}) {
    auto back = parse_duration(format_duration(d));
    ASSERT_TRUE(back) << format_duration(d);
    EXPECT_EQ(*back, d) << format_duration(d);
  }
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock c(time_at(5s));
  EXPECT_EQ(c.now(), time_at(5s));
  c.advance(250ms);
  EXPECT_EQ(to_nanos(c.now()), 5'250'000'000);
  c.set(time_at(1s));
  EXPECT_EQ(c.now(), time_at(1s));
}

TEST(ClockTest, SteadyClockIsMonotonicAndStartsPastZero) {
  SteadyClock c;
  TimePoint a = c.now();
  TimePoint b = c.now();
  EXPECT_GE(a, time_at(1s));
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace shoal
