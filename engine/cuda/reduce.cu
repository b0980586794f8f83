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

// Rows longer than this, when there are few of them, are first cut into chunks reduced by separate
// blocks (one block per row would leave most of the GPU idle: 5 rows of 70k elements took 0.65 ms).
constexpr int64_t kRowChunk = 4096;

// Block-wide fold of elements [begin, end) of `row`: thread t folds elements begin + t, + blockDim, ...
// in order, then a fixed shared-memory tree combines the partials (deterministic). Every thread gets
// the result.
template <typename T, typename A>
__device__ A block_fold(const T* row, int64_t begin, int64_t end, RowReduce kind, A* partial) {
  const bool additive = kind == RowReduce::sum || kind == RowReduce::mean;
  A acc = additive ? A(0) : (end > begin ? A(row[begin]) : A(0));
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc = combine<A>(kind, acc, A(row[i]));
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] = combine<A>(kind, partial[threadIdx.x], partial[threadIdx.x + s]);
    __syncthreads();
  }
  const A v = partial[0];
  __syncthreads();
  return v;
}

// One block per row (grid-stride over rows). A mean divides by `mean_count` (the original row length:
// in the second pass of a chunked reduction the rows hold chunk sums).
template <typename TIn, typename TOut, typename A>
__global__ void row_reduce_kernel(const TIn* rows, TOut* out, int64_t outer, int64_t inner, RowReduce kind,
                                  int64_t mean_count) {
  __shared__ A partial[kThreads];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
    A v = block_fold<TIn, A>(rows + r * inner, 0, inner, kind, partial);
    if (kind == RowReduce::mean) v = mean_count > 0 ? v / A(mean_count) : A(NAN);
    if (threadIdx.x == 0) out[r] = TOut(v);
  }
}

// First pass for few long rows: block (chunk, row) folds its kRowChunk elements into
// partials[row * chunks + chunk] (sums for a mean).
template <typename T, typename A>
__global__ void row_chunks_kernel(const T* rows, A* partials, int64_t inner, int64_t chunks, RowReduce kind) {
  __shared__ A partial[kThreads];
  const int64_t r = blockIdx.y, c = blockIdx.x, begin = c * kRowChunk;
  const int64_t end = begin + kRowChunk < inner ? begin + kRowChunk : inner;
  const A v = block_fold<T, A>(rows + r * inner, begin, end, kind == RowReduce::mean ? RowReduce::sum : kind, partial);
  if (threadIdx.x == 0) partials[r * chunks + c] = v;
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
  const int64_t chunks = (inner + kRowChunk - 1) / kRowChunk;
  const cudaStream_t s = stream_of(rows);
  dispatch_float(rows.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (outer < 256 && chunks >= 4) {
      Tensor partials = Tensor::empty({outer * chunks}, DType::f64, rows.device());
      row_chunks_kernel<T, double><<<dim3((unsigned)chunks, (unsigned)outer), kThreads, 0, s>>>(
          rows.data<T>(), partials.data<double>(), inner, chunks, kind);
      CUTTLE_CUDA_CHECK_LAUNCH("reduce (row chunks)");
      row_reduce_kernel<double, T, double>
          <<<grid, kThreads, 0, s>>>(partials.data<double>(), out.data<T>(), outer, chunks, kind, inner);
    } else {
      row_reduce_kernel<T, T, double><<<grid, kThreads, 0, s>>>(rows.data<T>(), out.data<T>(), outer, inner, kind, inner);
    }
    CUTTLE_CUDA_CHECK_LAUNCH("reduce");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
