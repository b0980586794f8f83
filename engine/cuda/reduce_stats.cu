// CUDA variance and argmax over rows (engine/cuda/reduce.h). Rows up to 1024 long go to one warp,
// longer ones to a block; argmax combines (value, index) pairs with an order that is total (ties and
// NaNs go to the lower index), so the tree gives the serial loop's answer.
#include <type_traits>

#include "engine/cuda/reduce.h"
#include "engine/cuda/row_groups.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T, typename G>
__device__ void var_row(const T* row, T* out, int64_t n, int64_t correction, const G& g) {
  double s = 0;
  for (int64_t i = g.rank(); i < n; i += g.size()) s += row[i];
  const double m = g.sum(s) / (double)(n > 1 ? n : 1);
  double q = 0;
  for (int64_t i = g.rank(); i < n; i += g.size()) q += ((double)row[i] - m) * ((double)row[i] - m);
  q = g.sum(q);
  const int64_t dof = n - correction > 0 ? n - correction : 0;
  if (g.rank() == 0) *out = (T)(q / (double)dof);
}

template <typename T>
__global__ void var_by_warp(const T* rows, T* out, int64_t outer, int64_t inner, int64_t correction) {
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < outer; r += warps)
    var_row(rows + r * inner, out + r, inner, correction, WarpGroup{});
}

template <typename T>
__global__ void var_by_block(const T* rows, T* out, int64_t outer, int64_t inner, int64_t correction) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x)
    var_row(rows + r * inner, out + r, inner, correction, BlockGroup{scratch});
}

template <typename T>
__device__ inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return isnan(v);
  else return false;
}

// Whether (a, i) beats (b, j) for argmax: NaN first, then the larger value, then the lower index.
template <typename T>
__device__ inline bool beats(T a, int64_t i, T b, int64_t j) {
  const bool na = is_nan(a), nb = is_nan(b);
  if (na != nb) return na;
  if (!na && a != b) return a > b;
  return i < j;
}

constexpr int kArgThreads = 128;

// One block per row: each thread scans a strided subset, then a shared-memory tree.
template <typename T>
__global__ void argmax_by_block(const T* rows, int64_t* out, int64_t outer, int64_t inner) {
  __shared__ T best_v[kArgThreads];
  __shared__ int64_t best_i[kArgThreads];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
    const T* row = rows + r * inner;
    T bv = row[0];
    int64_t bi = 0;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x)
      if (beats(row[i], i, bv, bi)) bv = row[i], bi = i;
    best_v[threadIdx.x] = bv;
    best_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s && beats(best_v[threadIdx.x + s], best_i[threadIdx.x + s], best_v[threadIdx.x], best_i[threadIdx.x])) {
        best_v[threadIdx.x] = best_v[threadIdx.x + s];
        best_i[threadIdx.x] = best_i[threadIdx.x + s];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = best_i[0];
    __syncthreads();
  }
}

// Short rows: one thread per row, the CPU's loop.
template <typename T>
__global__ void argmax_by_thread(const T* rows, int64_t* out, int64_t outer, int64_t inner) {
  CUTTLE_KERNEL_LOOP(r, outer) {
    const T* row = rows + r * inner;
    int64_t b = 0;
    for (int64_t i = 1; i < inner; ++i)
      if (beats(row[i], i, row[b], b)) b = i;
    out[r] = b;
  }
}

}  // namespace

Tensor var_rows(const Tensor& rows, int64_t outer, int64_t inner, int64_t correction) {
  CUTTLE_CHECK(rows.is_contiguous() && rows.numel() == outer * inner, "cuda var: rows ", rows.str(),
               " are not a contiguous [", outer, " x ", inner, "] matrix");
  Tensor out = Tensor::empty({outer}, rows.dtype(), rows.device());
  if (outer == 0) return out;
  DeviceGuard guard(rows.device().index);
  cudaStream_t s = stream_of(rows);
  dispatch_float(rows.dtype(), "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (inner <= 1024)
      var_by_warp<T><<<grid_for(outer, kThreads / 32), kThreads, 0, s>>>(rows.data<T>(), out.data<T>(), outer, inner,
                                                                         correction);
    else
      var_by_block<T><<<grid_for(outer, 1), kThreads, 0, s>>>(rows.data<T>(), out.data<T>(), outer, inner, correction);
    CUTTLE_CUDA_CHECK_LAUNCH("var");
  });
  return out;
}

Tensor argmax_rows(const Tensor& rows, int64_t outer, int64_t inner) {
  CUTTLE_CHECK(rows.is_contiguous() && rows.numel() == outer * inner && inner > 0, "cuda argmax: rows ", rows.str(),
               " are not a contiguous non-empty [", outer, " x ", inner, "] matrix");
  Tensor out = Tensor::empty({outer}, DType::i64, rows.device());
  if (outer == 0) return out;
  DeviceGuard guard(rows.device().index);
  cudaStream_t s = stream_of(rows);
  dispatch_numeric(rows.dtype(), "argmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (inner <= 64)
      argmax_by_thread<T><<<blocks_for(outer), kThreads, 0, s>>>(rows.data<T>(), out.data<int64_t>(), outer, inner);
    else
      argmax_by_block<T><<<grid_for(outer, 1), kArgThreads, 0, s>>>(rows.data<T>(), out.data<int64_t>(), outer, inner);
    CUTTLE_CUDA_CHECK_LAUNCH("argmax");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
