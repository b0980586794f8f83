// Defines the batch-of-transposes kernel shared by copies and unary ops over transposed views:
// dst [B, R, C] (contiguous) <- fn(src) where src's element (b, r, c) sits at b * src_batch + r + c * R.
// 32 x 32 shared-memory tiles make both the reads and the writes coalesced; the generic strided kernels
// read across the grain (PVT turns token maps into images and back this way, 4x slower without tiles).
#pragma once
#include <algorithm>

#include "engine/cuda/kernel_util.cuh"

namespace cuttle::engine::cuda {

// The shape of a batch of transposes found in a merged two-operand index (operand 0 the contiguous
// destination, operand 1 the source).
struct TransposeShape {
  int64_t B = 1, R = 0, C = 0, src_batch = 0;
};

template <typename TO, typename T, typename Fn>
__global__ void tiled_transpose_kernel(TO* dst, const T* src, TransposeShape t, Fn fn) {
  __shared__ T tile[32][33];  // 33: no bank conflicts on the column reads
  const int64_t r0 = (int64_t)blockIdx.y * 32, c0 = (int64_t)blockIdx.x * 32;
  for (int64_t b = blockIdx.z; b < t.B; b += gridDim.z) {
    const T* sb = src + b * t.src_batch;
    TO* db = dst + b * t.R * t.C;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
      const int64_t r = r0 + threadIdx.x, c = c0 + j;
      if (r < t.R && c < t.C) tile[j][threadIdx.x] = sb[r + c * t.R];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
      const int64_t r = r0 + j, c = c0 + threadIdx.x;
      if (r < t.R && c < t.C) db[r * t.C + c] = fn(tile[threadIdx.x][j]);
    }
    __syncthreads();
  }
}

// Whether the merged index is a batch of transposes (see tiled_transpose_kernel); fills `t`.
inline bool batched_transpose(const StridedIndex<2>& idx, TransposeShape& t) {
  const int nd = idx.ndim;
  if (nd != 2 && nd != 3) return false;
  t.R = idx.sizes[nd - 2];
  t.C = idx.sizes[nd - 1];
  const bool dst_rows = idx.strides[0][nd - 1] == 1 && idx.strides[0][nd - 2] == t.C;
  const bool src_cols = idx.strides[1][nd - 2] == 1 && idx.strides[1][nd - 1] == t.R;
  if (!dst_rows || !src_cols || t.R < 2 || t.C < 2 || t.R > 65535 * 32) return false;
  t.B = nd == 3 ? idx.sizes[0] : 1;
  t.src_batch = nd == 3 ? idx.strides[1][0] : 0;
  return nd == 2 || idx.strides[0][0] == t.R * t.C;
}

template <typename TO, typename T, typename Fn>
void launch_tiled_transpose(cudaStream_t s, const char* name, TO* dst, const T* src, const TransposeShape& t, Fn fn) {
  const dim3 grid((unsigned)((t.C + 31) / 32), (unsigned)((t.R + 31) / 32), (unsigned)std::min<int64_t>(t.B, 65535));
  tiled_transpose_kernel<TO, T><<<grid, dim3(32, 8), 0, s>>>(dst, src, t, fn);
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

}  // namespace cuttle::engine::cuda
