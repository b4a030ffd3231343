// Helpers for simulation tests: which seeds to run, and the one-line command
// that replays a failing one.
//
// A simulation test loops over sim_seeds() and puts
//   SCOPED_TRACE(replay_command(seed));
// at the top of the loop body, so every failed assertion prints, e.g.,
//   SHOAL_SIM_SEED=7 ctest --test-dir /work/main/build -R '^Network.Loss$' --output-on-failure
// which reruns exactly that test with exactly that seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shoal::sim {

// The seeds a test should run:
//   - SHOAL_SIM_SEED=<n> set: just {n} (replaying one failure);
//   - else SHOAL_SIM_SEEDS=<count> set: that many (test.sh lowers it under
//     the sanitizers, nightly runs may raise it);
//   - else `default_count`.
// Seeds are 1, 2, 3, ...: stable across runs and short to type. The simulator
// mixes them, so neighbouring seeds give unrelated runs.
std::vector<uint64_t> sim_seeds(int default_count);

// "SHOAL_SIM_SEED=<seed> ctest --test-dir <build> -R '^<Suite.Test>$'
// --output-on-failure" for the gtest test that is running now.
std::string replay_command(uint64_t seed);

}  // namespace shoal::sim
