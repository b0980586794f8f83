// CUDA softmax / log_softmax forward and backward (engine/cuda/softmax.h). The tensor is seen as
// [outer, n, inner]; a row is the n elements of one (outer, inner) position, `inner` apart.
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/row_groups.cuh"
#include "engine/cuda/softmax.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

constexpr int kWarpRowMax = 1024;  // rows up to this length go to one warp, longer ones to a block
constexpr int kBlockRowThreads = 512;

// The three passes of a stable softmax over one row, shared by every group shape. Each element is
// read and written by the same group member in every pass, so no barrier is needed between them.
template <typename T, bool kLog, typename G>
__device__ void softmax_row(const T* x, T* y, int64_t n, int64_t st, const G& g) {
  double mx = -INFINITY;
  for (int64_t k = g.rank(); k < n; k += g.size()) mx = fmax(mx, (double)x[k * st]);
  const T m = (T)g.max(mx);
  double s = 0;
  for (int64_t k = g.rank(); k < n; k += g.size()) {
    const T e = exp(x[k * st] - m);
    if (!kLog) y[k * st] = e;
    s += e;
  }
  s = g.sum(s);
  if (kLog) {
    const T shift = m + (T)log(s);
    for (int64_t k = g.rank(); k < n; k += g.size()) y[k * st] = x[k * st] - shift;
  } else {
    const T inv = (T)(1.0 / s);
    for (int64_t k = g.rank(); k < n; k += g.size()) y[k * st] *= inv;
  }
}

// softmax: dx = y (g - sum(g y)); log_softmax: dx = g - exp(y) sum(g).
template <typename T, bool kLog, typename G>
__device__ void softmax_backward_row(const T* g, const T* y, T* dx, int64_t n, int64_t st, const G& grp) {
  double dot = 0;
  for (int64_t k = grp.rank(); k < n; k += grp.size()) dot += kLog ? (double)g[k * st] : (double)g[k * st] * y[k * st];
  const T d = (T)grp.sum(dot);
  for (int64_t k = grp.rank(); k < n; k += grp.size()) {
    const int64_t i = k * st;
    dx[i] = kLog ? g[i] - exp(y[i]) * d : y[i] * (g[i] - d);
  }
}

__device__ inline int64_t row_base(int64_t r, int64_t n, int64_t inner) { return (r / inner) * n * inner + r % inner; }

// kFwd selects forward (a = x -> out = y) or backward (a = g, b = y -> out = dx).
template <typename T, bool kLog, bool kFwd, typename G>
__device__ void run_row(const T* a, const T* b, T* out, int64_t base, int64_t n, int64_t inner, const G& grp) {
  if constexpr (kFwd) softmax_row<T, kLog>(a + base, out + base, n, inner, grp);
  else softmax_backward_row<T, kLog>(a + base, b + base, out + base, n, inner, grp);
}

template <typename T, bool kLog, bool kFwd>
__global__ void rows_by_thread(const T* a, const T* b, T* out, int64_t rows, int64_t n, int64_t inner) {
  CUTTLE_KERNEL_LOOP(r, rows) run_row<T, kLog, kFwd>(a, b, out, row_base(r, n, inner), n, inner, ThreadGroup{});
}

template <typename T, bool kLog, bool kFwd>
__global__ void rows_by_warp(const T* a, const T* b, T* out, int64_t rows, int64_t n, int64_t inner) {
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  // r is uniform across the warp, so all 32 lanes take part in every shuffle.
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows; r += warps)
    run_row<T, kLog, kFwd>(a, b, out, row_base(r, n, inner), n, inner, WarpGroup{});
}

template <typename T, bool kLog, bool kFwd>
__global__ void rows_by_block(const T* a, const T* b, T* out, int64_t rows, int64_t n, int64_t inner) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x)
    run_row<T, kLog, kFwd>(a, b, out, row_base(r, n, inner), n, inner, BlockGroup{scratch});
}

// Contiguous rows of 33..1024 elements, one warp each, the row held in registers (kPer values per
// lane): one read of the input(s) and one write, where the generic row kernels read twice. Same
// arithmetic and summation order as softmax_row / softmax_backward_row with a WarpGroup.
template <typename T, bool kLog, bool kFwd, int kPer>
__global__ void rows_in_registers(const T* a, const T* b, T* out, int64_t rows, int n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows; r += warps) {
    const T* ar = a + r * n;
    T* o = out + r * n;
    T va[kPer], vb[kPer];
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int k = lane + 32 * j;
      va[j] = k < n ? ar[k] : T(0);
      if (!kFwd) vb[j] = k < n ? b[r * n + k] : T(0);
    }
    if constexpr (kFwd) {
      double mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < kPer; ++j)
        if (lane + 32 * j < n) mx = fmax(mx, (double)va[j]);
      const T m = (T)warp_max(mx);
      double s = 0;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        if (lane + 32 * j >= n) continue;
        const T e = exp(va[j] - m);
        if (!kLog) vb[j] = e;
        s += e;
      }
      s = warp_sum(s);
      const T shift = kLog ? m + (T)log(s) : T(0), inv = kLog ? T(0) : (T)(1.0 / s);
#pragma unroll
      for (int j = 0; j < kPer; ++j)
        if (lane + 32 * j < n) o[lane + 32 * j] = kLog ? va[j] - shift : vb[j] * inv;
    } else {
      double dot = 0;
#pragma unroll
      for (int j = 0; j < kPer; ++j)
        if (lane + 32 * j < n) dot += kLog ? (double)va[j] : (double)va[j] * vb[j];
      const T d = (T)warp_sum(dot);
#pragma unroll
      for (int j = 0; j < kPer; ++j)
        if (lane + 32 * j < n) o[lane + 32 * j] = kLog ? va[j] - exp(vb[j]) * d : vb[j] * (va[j] - d);
    }
  }
}

template <typename T, bool kLog, bool kFwd, int kPer>
void launch_in_registers(const T* a, const T* b, T* out, int64_t rows, int64_t n, cudaStream_t s) {
  rows_in_registers<T, kLog, kFwd, kPer><<<grid_for(rows, kThreads / 32), kThreads, 0, s>>>(a, b, out, rows, (int)n);
}

template <typename T, bool kLog, bool kFwd>
void launch(const T* a, const T* b, T* out, const AxisDims& d, cudaStream_t s) {
  const int64_t rows = d.outer * d.inner;
  // A strided axis with many rows: one thread per row reads neighbouring rows in one transaction.
  if (d.n <= 32 || (d.inner > 1 && rows >= 8192)) {
    rows_by_thread<T, kLog, kFwd><<<grid_for(rows, kThreads), kThreads, 0, s>>>(a, b, out, rows, d.n, d.inner);
  } else if (d.inner == 1 && d.n <= kWarpRowMax) {
    if (d.n <= 128) launch_in_registers<T, kLog, kFwd, 4>(a, b, out, rows, d.n, s);
    else if (d.n <= 256) launch_in_registers<T, kLog, kFwd, 8>(a, b, out, rows, d.n, s);
    else if (d.n <= 512) launch_in_registers<T, kLog, kFwd, 16>(a, b, out, rows, d.n, s);
    else launch_in_registers<T, kLog, kFwd, 32>(a, b, out, rows, d.n, s);
  } else if (d.n <= kWarpRowMax) {
    rows_by_warp<T, kLog, kFwd><<<grid_for(rows, kThreads / 32), kThreads, 0, s>>>(a, b, out, rows, d.n, d.inner);
  } else {
    rows_by_block<T, kLog, kFwd><<<grid_for(rows, 1), kBlockRowThreads, 0, s>>>(a, b, out, rows, d.n, d.inner);
  }
  CUTTLE_CUDA_CHECK_LAUNCH(kFwd ? (kLog ? "log_softmax" : "softmax") : (kLog ? "log_softmax_backward" : "softmax_backward"));
}

}  // namespace

Tensor softmax(const Tensor& x, int axis, bool log) {
  const Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const AxisDims d = axis_dims(x.shape(), axis);
  dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (log) launch<T, true, true>(xc.data<T>(), nullptr, y.data<T>(), d, stream_of(x));
    else launch<T, false, true>(xc.data<T>(), nullptr, y.data<T>(), d, stream_of(x));
  });
  return y;
}

Tensor softmax_backward(const Tensor& grad, const Tensor& y, int axis, bool log) {
  const Tensor gc = grad.contiguous(), yc = y.contiguous();
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (y.numel() == 0) return dx;
  DeviceGuard guard(y.device().index);
  const AxisDims d = axis_dims(y.shape(), axis);
  dispatch_float(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (log) launch<T, true, false>(gc.data<T>(), yc.data<T>(), dx.data<T>(), d, stream_of(y));
    else launch<T, false, false>(gc.data<T>(), yc.data<T>(), dx.data<T>(), d, stream_of(y));
  });
  return dx;
}

}  // namespace cuttle::engine::cuda
