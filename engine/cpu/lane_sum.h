// Defines lane_sum: the double-precision sum of f(i) over i in [0, n), kept in independent partial
// sums that are combined in a fixed order. One running double sum is a chain of dependent adds (one
// element per add latency, no SIMD); the lanes let the compiler vectorise, and the summation order
// still depends on n alone, so results stay identical for any thread count.
#pragma once
#include <cstdint>

namespace cuttle::engine::cpu {

constexpr int kSumLanes = 8;

template <typename F>
double lane_sum(int64_t n, const F& f) {
  double acc[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int j = 0; j < kSumLanes; ++j) acc[j] += static_cast<double>(f(i + j));
  double tail = 0;
  for (; i < n; ++i) tail += static_cast<double>(f(i));
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

}  // namespace cuttle::engine::cpu
