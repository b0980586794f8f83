// Defines the loop and reduction helpers of the CUDA kernels beyond the element-wise family:
// grid-stride loops with 64-bit indices, grid sizing, warp reductions, and the [outer, n, inner]
// view of a tensor around one axis.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/cuda/kernel_util.cuh"

// for (i = global thread; i < n; i += all threads), 64-bit so sizes past 2^31 are safe.
#define CUTTLE_KERNEL_LOOP(i, n)                                                   \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n); \
       i += (int64_t)gridDim.x * blockDim.x)

namespace cuttle::engine::cuda {

// Blocks for `items` work items handled `per_block` at a time, within the grid's x limit (loops in the
// kernels cover the rest).
inline int grid_for(int64_t items, int64_t per_block) {
  const int64_t b = (items + per_block - 1) / per_block;
  return (int)(b < 1 ? 1 : (b > 65535 * 32 ? 65535 * 32 : b));
}

template <typename A>
__device__ inline A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename A>
__device__ inline A warp_max(A v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// A tensor seen as [outer, n, inner] around `axis`.
struct AxisDims {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisDims axis_dims(const Shape& s, int axis) {
  AxisDims d;
  for (int i = 0; i < (int)s.size(); ++i) (i < axis ? d.outer : i == axis ? d.n : d.inner) *= s[i];
  return d;
}

}  // namespace cuttle::engine::cuda
