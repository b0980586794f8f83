// Defines SceneRng: the small sequential random source the synthetic generator draws scene
// parameters from, built on the engine's counter-based hash so scenes depend only on their seed.
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/random.h"

namespace cuttle::data {

class SceneRng {
 public:
  explicit SceneRng(uint64_t seed) : seed_(seed) {}
  double uniform() { return engine::random_unit(seed_, counter_++); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t integer(int64_t lo, int64_t hi_inclusive) {
    return lo + (int64_t)(engine::random_bits(seed_, counter_++) % (uint64_t)(hi_inclusive - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // A fresh seed for an independent sub-stream (a noise field, an object).
  uint64_t fork() { return engine::random_bits(seed_, counter_++); }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

}  // namespace cuttle::data
