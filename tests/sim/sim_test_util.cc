#include "tests/sim/sim_test_util.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#ifndef SHOAL_BUILD_DIR
#define SHOAL_BUILD_DIR "build"
#endif

namespace shoal::sim {

namespace {

// Parses a non-negative decimal (or 0x-prefixed hex) number; a malformed
// value is a usage error worth stopping for, not something to silently ignore.
uint64_t parse_env_number(const char* name, const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    throw std::invalid_argument(std::string(name) + "=" + text + " is not a number");
  }
  return v;
}

}  // namespace

std::vector<uint64_t> sim_seeds(int default_count) {
  if (const char* one = std::getenv("SHOAL_SIM_SEED"); one != nullptr && *one != '\0') {
    return {parse_env_number("SHOAL_SIM_SEED", one)};
  }
  uint64_t count = default_count > 0 ? static_cast<uint64_t>(default_count) : 1;
  if (const char* n = std::getenv("SHOAL_SIM_SEEDS"); n != nullptr && *n != '\0') {
    count = parse_env_number("SHOAL_SIM_SEEDS", n);
    if (count == 0) count = 1;
  }
  std::vector<uint64_t> seeds;
  seeds.reserve(count);
  for (uint64_t s = 1; s <= count; ++s) seeds.push_back(s);
  return seeds;
}

std::string replay_command(uint64_t seed) {
  std::string test = "<test>";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    test = std::string(info->test_suite_name()) + "." + info->name();
  }
  return "SHOAL_SIM_SEED=" + std::to_string(seed) + " ctest --test-dir " SHOAL_BUILD_DIR " -R '^" +
         test + "$' --output-on-failure";
}

}  // namespace shoal::sim
