// Rng: the only source of randomness a protocol core may use. Seeded with a
// u64, never global: every component that needs randomness receives an Rng&,
// so a simulation run is a pure function of its seed.
//
// The generator is xoshiro256** seeded through splitmix64 (public-domain
// algorithms by Blackman and Vigna). Its output is identical on every
// platform, which std::uniform_int_distribution does not promise; use the
// helpers below instead of <random> distributions.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace shoal {

// One step of splitmix64: a good 64-bit mixer, also used to derive seeds.
uint64_t splitmix64(uint64_t& state);
// Mixes a and b into one well-distributed 64-bit value (order matters).
uint64_t mix64(uint64_t a, uint64_t b);

class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, n); n must be > 0. Unbiased (Lemire's method).
  uint64_t uniform(uint64_t n);
  // Uniform in [lo, hi] inclusive.
  int64_t uniform_range(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double next_double();
  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p);
  // A new generator whose stream is independent of this one's future output;
  // derived from `stream` and this generator's seed, not its current state,
  // so forking does not perturb the parent.
  Rng fork(uint64_t stream) const;

  template <class It>
  void shuffle(It first, It last) {
    auto n = last - first;
    for (decltype(n) i = n - 1; i > 0; --i) {
      auto j = static_cast<decltype(n)>(uniform(static_cast<uint64_t>(i) + 1));
      using std::swap;
      swap(first[i], first[j]);
    }
  }

  uint64_t seed() const { return seed_; }

  // UniformRandomBitGenerator, for code that needs one.
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return std::numeric_limits<uint64_t>::max(); }
  uint64_t operator()() { return next_u64(); }

 private:
  uint64_t seed_;
  std::array<uint64_t, 4> s_{};
};

}  // namespace shoal
