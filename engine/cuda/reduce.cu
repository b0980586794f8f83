// CUDA row reductions (engine/cuda/reduce.h).
#include "engine/cuda/kernel_util.cuh"
#include "engine/cuda/reduce.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename A>
__device__ A combine(RowReduce kind, A a, A b) {
  switch (kind) {
    case RowReduce::sum:
    case RowReduce::mean: return a + b;
    case RowReduce::max: return (a > b || a != a) ? a : b;  // NaN propagates
    case RowReduce::min: return (a < b || a != a) ? a : b;
  }
  return a;
}

// One block per row (grid-stride over rows); thread t folds elements t, t + blockDim, ... in order,
// then a fixed shared-memory tree combines the partials.
template <typename T, typename A>
__global__ void row_reduce_kernel(const T* rows, T* out, int64_t outer, int64_t inner, RowReduce kind) {
  __shared__ A partial[kThreads];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
    const T* row = rows + r * inner;
    const bool additive = kind == RowReduce::sum || kind == RowReduce::mean;
    A acc = additive ? A(0) : (inner > 0 ? A(row[0]) : A(0));
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) acc = combine<A>(kind, acc, A(row[i]));
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) partial[threadIdx.x] = combine<A>(kind, partial[threadIdx.x], partial[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      A v = partial[0];
      if (kind == RowReduce::mean) v = inner > 0 ? v / A(inner) : A(NAN);
      out[r] = T(v);
    }
    __syncthreads();
  }
}

}  // namespace

Tensor reduce_rows(RowReduce kind, const Tensor& rows, int64_t outer, int64_t inner) {
  CUTTLE_CHECK(rows.is_contiguous() && rows.numel() == outer * inner, "cuda reduce: rows ", rows.str(),
               " are not a contiguous [", outer, " x ", inner, "] matrix");
  CUTTLE_CHECK(inner > 0 || kind == RowReduce::sum || kind == RowReduce::mean, "cuda reduce: max/min of an empty row");
  Tensor out = Tensor::empty({outer}, rows.dtype(), rows.device());
  if (outer == 0) return out;
  DeviceGuard guard(rows.device().index);
  const int grid = (int)std::min<int64_t>(outer, 65535);
  dispatch_float(rows.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    row_reduce_kernel<T, double><<<grid, kThreads, 0, stream_of(rows)>>>(rows.data<T>(), out.data<T>(), outer, inner,
                                                                          kind);
    CUTTLE_CUDA_CHECK_LAUNCH("reduce");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
