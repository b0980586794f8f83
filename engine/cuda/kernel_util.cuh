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

// Sizes of the iteration shape and the strides (elements) of N operands in it. make_strided_index
// merges neighbouring axes that every operand walks as one (a contiguous [N,C,H,W] against a [N,C,1,1]
// operand becomes [N*C, H*W]) and drops size-1 axes, and below 2^31 elements the index splits in 32-bit
// arithmetic: a 64-bit division per axis and element made the strided kernels several times slower.
template <int N>
struct StridedIndex {
  int ndim;
  bool small;  // numel < 2^31: split the linear index in 32-bit arithmetic
  int64_t sizes[kMaxDims];
  int64_t strides[N][kMaxDims];

  __device__ void offsets(int64_t linear, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    if (small) {
      uint32_t l = (uint32_t)linear;
      for (int d = ndim - 1; d > 0; --d) {
        const uint32_t sz = (uint32_t)sizes[d], q = l / sz, i = l - q * sz;
        l = q;
        for (int k = 0; k < N; ++k) out[k] += (int64_t)i * strides[k][d];
      }
      if (ndim > 0)
        for (int k = 0; k < N; ++k) out[k] += (int64_t)l * strides[k][0];
      return;
    }
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
  int64_t numel = 1;
  for (int d = 0; d < (int)shape.size(); ++d) {
    numel *= shape[d];
    if (shape[d] == 1) continue;  // contributes no offset
    // Merge into the previous kept axis when, for every operand, stepping it once equals stepping
    // this axis through its whole extent.
    bool merge = s.ndim > 0;
    for (int k = 0; k < N && merge; ++k) merge = s.strides[k][s.ndim - 1] == (*strides_in[k])[d] * shape[d];
    if (merge) {
      s.sizes[s.ndim - 1] *= shape[d];
      for (int k = 0; k < N; ++k) s.strides[k][s.ndim - 1] = (*strides_in[k])[d];
      continue;
    }
    s.sizes[s.ndim] = shape[d];
    for (int k = 0; k < N; ++k) s.strides[k][s.ndim] = (*strides_in[k])[d];
    ++s.ndim;
  }
  s.small = numel < (int64_t(1) << 31);
  return s;
}

// Strides of a tensor broadcast to `to` (stride 0 on broadcast axes).
inline Shape broadcast_strides_to(const Tensor& t, const Shape& to) { return broadcast_strides(t.shape(), t.strides(), to); }

inline cudaStream_t stream_of(const Tensor& t) { return stream(t.device().index); }

}  // namespace cuttle::engine::cuda
