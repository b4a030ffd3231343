// sim_seeds() honours SHOAL_SIM_SEED / SHOAL_SIM_SEEDS; replay_command()
// names the running test.
#include "tests/sim/sim_test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace shoal::sim {
namespace {

// Sets or clears an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(SimTestUtil, SeedsFollowTheEnvironment) {
  ScopedEnv no_seed("SHOAL_SIM_SEED", nullptr);
  {
    ScopedEnv no_count("SHOAL_SIM_SEEDS", nullptr);
    EXPECT_EQ(sim_seeds(4), (std::vector<uint64_t>{1, 2, 3, 4}));
  }
  {
    ScopedEnv count("SHOAL_SIM_SEEDS", "2");
    EXPECT_EQ(sim_seeds(50), (std::vector<uint64_t>{1, 2}));
    ScopedEnv one("SHOAL_SIM_SEED", "123456789012");
    EXPECT_EQ(sim_seeds(50), (std::vector<uint64_t>{123456789012}));
  }
  ScopedEnv bad("SHOAL_SIM_SEED", "seven");
  EXPECT_THROW(sim_seeds(1), std::invalid_argument);
}

TEST(SimTestUtil, ReplayCommandNamesTheRunningTest) {
  const std::string cmd = replay_command(77);
  EXPECT_EQ(cmd.rfind("SHOAL_SIM_SEED=77 ctest --test-dir ", 0), 0u) << cmd;
  EXPECT_NE(cmd.find(" -R '^SimTestUtil.ReplayCommandNamesTheRunningTest$' --output-on-failure"),
            std::string::npos)
      << cmd;
  EXPECT_EQ(cmd.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace shoal::sim
