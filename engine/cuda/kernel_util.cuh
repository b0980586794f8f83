// Defines what the CUDA kernels share: launch geometry, and StridedIndex, which maps a linear element
// index to the offsets of up to kMaxDims-dimensional strided operands.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

constexpr int kMaxDims = 8;
constexpr int kThreads = 256;

inline int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return (int)(b < 65535 * 32 ? (b > 0 ? b : 1) : 65535 * 32);
}

// Sizes of the iteration shape and the strides (elements) of N operands in it.
template <int N>
struct StridedIndex {
  int ndim;
  int64_t sizes[kMaxDims];
  int64_t strides[N][kMaxDims];

  __device__ void offsets(int64_t linear, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += i * strides[k][d];
    }
  }
};

// Builds a StridedIndex over `shape` for operands given as (shape, strides) broadcast to it.
template <int N>
StridedIndex<N> make_strided_index(const Shape& shape, const Shape* const* strides_in) {
  CUTTLE_CHECK((int)shape.size() <= kMaxDims, "CUDA kernels handle at most ", kMaxDims, " dimensions, got ",
               shape_str(shape));
  StridedIndex<N> s{};
  s.ndim = (int)shape.size();
  for (int d = 0; d < s.ndim; ++d) s.sizes[d] = shape[d];
  for (int k = 0; k < N; ++k)
    for (int d = 0; d < s.ndim; ++d) s.strides[k][d] = (*strides_in[k])[d];
  return s;
}

// Strides of a tensor broadcast to `to` (stride 0 on broadcast axes).
inline Shape broadcast_strides_to(const Tensor& t, const Shape& to) { return broadcast_strides(t.shape(), t.strides(), to); }

inline cudaStream_t stream_of(const Tensor& t) { return stream(t.device().index); }

}  // namespace cuttle::engine::cuda
