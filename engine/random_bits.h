// Defines the counter-based hash behind every random draw (random_bits, random_unit), callable from
// host and device code, so a CUDA kernel draws exactly the values the CPU draws for the same
// (seed, counter).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define CUTTLE_RNG_HD __host__ __device__
#else
#define CUTTLE_RNG_HD
#endif

namespace cuttle::engine {

// A 64-bit hash of (seed, counter): splitmix64 finaliser over a mixed key.
CUTTLE_RNG_HD inline uint64_t random_bits(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + counter * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in [0, 1) with 53 random bits (exact in double on both sides: an integer times 2^-53).
CUTTLE_RNG_HD inline double random_unit(uint64_t seed, uint64_t counter) {
  return (random_bits(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace cuttle::engine
