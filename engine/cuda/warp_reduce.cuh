// Defines deterministic warp sums: a fixed shuffle-down tree (lane 0 ends with the sum) and its
// broadcast, so every lane uses the bit-identical value.
#pragma once
#include <cuda_runtime.h>

namespace cuttle::engine::cuda {

// Sum over the 32 lanes (all must be active); valid in lane 0.
__device__ inline double warp_sum_to_lane0(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}
// The same sum, in every lane.
__device__ inline double warp_sum_all(double v) { return __shfl_sync(0xffffffffu, warp_sum_to_lane0(v), 0); }

}  // namespace cuttle::engine::cuda
