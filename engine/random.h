// Defines Generator: a seeded, counter-based random source. Element i of a draw depends only on
// (seed, offset + i), so results are identical whatever the thread count and a CUDA kernel can
// reproduce them exactly.
#pragma once
#include <cstdint>

#include "engine/random_bits.h"
#include "engine/tensor.h"

namespace cuttle::engine {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Restores a saved state (checkpoints save seed and offset).
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves n counters for one draw and returns the first.
  uint64_t advance(uint64_t n) { uint64_t o = offset_; offset_ += n; return o; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide default generator (seeded with 0 until manual_seed is called).
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::f32,
               Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, DType dtype = DType::f32,
              Generator* gen = nullptr);
// Each element is 1 with probability p, else 0 (dtype f32/f64/bool/u8).
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::f32, Generator* gen = nullptr);
// Random integers in [low, high).
Tensor randint(const Shape& shape, int64_t low, int64_t high, DType dtype = DType::i64,
               Generator* gen = nullptr);
// A random permutation of 0..n-1 (i64), Fisher-Yates driven by the generator.
Tensor randperm(int64_t n, Generator* gen = nullptr);

}  // namespace cuttle::engine
