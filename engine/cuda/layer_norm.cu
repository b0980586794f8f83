// CUDA layer normalisation over the last axis (engine/cuda/norm.h). One warp per row: sums shifted by
// the row's first value accumulate in double and meet in a fixed shuffle tree. The weight and bias
// gradients are column sums over the rows: fixed chunks of rows per block, a fixed tree over the
// block's row lanes, then a fixed tree over the chunks.
#include <cmath>

#include "engine/cuda/channel_kernels.cuh"
#include "engine/cuda/norm.h"
#include "engine/cuda/norm_checks.h"
#include "engine/cuda/warp_reduce.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

constexpr int kRowsPerBlock = 8;       // warps per block, one row each
constexpr int64_t kRowsPerChunk = 256;  // rows per partial of the parameter gradients

int row_blocks(int64_t rows) { return (int)std::min<int64_t>((rows + kRowsPerBlock - 1) / kRowsPerBlock, 1 << 20); }

#define CUTTLE_WARP_ROW_LOOP(row, rows)                                                                      \
  for (int64_t row = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; row < (rows); row += (int64_t)gridDim.x * blockDim.y)

template <typename T>
__global__ void forward_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* invstd, int64_t rows, int64_t D,
                               double eps) {
  const int lane = threadIdx.x;
  CUTTLE_WARP_ROW_LOOP(row, rows) {
    const T* xr = x + row * D;
    const double k = (double)xr[0];
    double s1 = 0, s2 = 0;
    for (int64_t j = lane; j < D; j += 32) {
      const double d = (double)xr[j] - k;
      s1 += d;
      s2 += d * d;
    }
    s1 = warp_sum_all(s1);
    s2 = warp_sum_all(s2);
    const double dm = s1 / D;
    double var = s2 / D - dm * dm;
    if (var < 0) var = 0;
    const T m = (T)(k + dm), s = (T)(1.0 / sqrt(var + eps));
    if (lane == 0) {
      mean[row] = m;
      invstd[row] = s;
    }
    T* yr = y + row * D;
    for (int64_t j = lane; j < D; j += 32) {
      const T v = (xr[j] - m) * s;
      yr[j] = (w ? v * w[j] : v) + (b ? b[j] : T(0));
    }
  }
}

template <typename T>
__global__ void grad_input_kernel(const T* g, const T* x, const T* w, const T* mean, const T* invstd, T* gx,
                                  int64_t rows, int64_t D) {
  const int lane = threadIdx.x;
  CUTTLE_WARP_ROW_LOOP(row, rows) {
    const T* xr = x + row * D;
    const T* gr = g + row * D;
    const double m = (double)mean[row], s = (double)invstd[row];
    double a = 0, bb = 0;
    for (int64_t j = lane; j < D; j += 32) {
      const double gw = w ? (double)gr[j] * (double)w[j] : (double)gr[j];
      a += gw;
      bb += gw * ((double)xr[j] - m) * s;
    }
    a = warp_sum_all(a) / D;
    bb = warp_sum_all(bb) / D;
    T* out = gx + row * D;
    for (int64_t j = lane; j < D; j += 32) {
      const double gw = w ? (double)gr[j] * (double)w[j] : (double)gr[j];
      out[j] = (T)(s * (gw - a - ((double)xr[j] - m) * s * bb));
    }
  }
}

// partials: [2][chunks][D] (weight, bias). Block (32, 8): 32 columns, 8 row lanes.
template <typename T>
__global__ void param_partials_kernel(const T* g, const T* x, const T* mean, const T* invstd, double* partials,
                                      int64_t rows, int64_t D, int64_t chunks) {
  __shared__ double sw[kRowsPerBlock][32], sb[kRowsPerBlock][32];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = (int64_t)blockIdx.x * 32 + tx;
  for (int64_t ch = blockIdx.y; ch < chunks; ch += gridDim.y) {
    double aw = 0, ab = 0;
    if (j < D) {
      const int64_t r1 = (ch + 1) * kRowsPerChunk < rows ? (ch + 1) * kRowsPerChunk : rows;
      for (int64_t r = ch * kRowsPerChunk + ty; r < r1; r += kRowsPerBlock) {
        const double gv = (double)g[r * D + j];
        aw += gv * ((double)x[r * D + j] - (double)mean[r]) * (double)invstd[r];
        ab += gv;
      }
    }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && j < D) {
      double tw = 0, tb = 0;
      for (int q = 0; q < kRowsPerBlock; ++q) {
        tw += sw[q][tx];
        tb += sb[q][tx];
      }
      partials[ch * D + j] = tw;
      partials[(chunks + ch) * D + j] = tb;
    }
    __syncthreads();
  }
}

template <typename T>
struct ParamFin {
  T* gw;
  T* gb;
  __device__ void operator()(int64_t j, const double* sums) const {
    if (gw) gw[j] = (T)sums[0];
    if (gb) gb[j] = (T)sums[1];
  }
};

}  // namespace

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() >= 1 && x.size(-1) >= 1, op, ": cannot normalise the last axis of ", shape_str(x.shape()));
  const int64_t D = x.size(-1), rows = x.numel() / D;
  check_norm_param(op, "weight", weight, x, D);
  check_norm_param(op, "bias", bias, x, D);
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  Shape stat_shape(x.shape().begin(), x.shape().end() - 1);
  LayerNormResult r{Tensor::empty(x.shape(), x.dtype(), dev), Tensor::empty(stat_shape, x.dtype(), dev),
                    Tensor::empty(stat_shape, x.dtype(), dev)};
  if (rows == 0) return r;
  const Tensor xc = x.contiguous(), wc = contiguous_or_none(weight), bc = contiguous_or_none(bias);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_kernel<T><<<row_blocks(rows), dim3(32, kRowsPerBlock), 0, stream_of(x)>>>(
        xc.data<T>(), ptr_or_null<T>(wc), ptr_or_null<T>(bc), r.output.data<T>(), r.mean.data<T>(), r.invstd.data<T>(),
        rows, D, eps);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, NormNeeds needs) {
  const char* op = "layer_norm_backward";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() >= 1 && x.size(-1) >= 1, op, ": cannot normalise the last axis of ", shape_str(x.shape()));
  check_grad_like(op, grad_out, x);
  const int64_t D = x.size(-1), rows = x.numel() / D;
  check_norm_param(op, "weight", weight, x, D);
  CUTTLE_CHECK(mean.defined() && invstd.defined() && mean.numel() == rows && invstd.numel() == rows &&
                   mean.dtype() == x.dtype() && invstd.dtype() == x.dtype(),
               op, ": saved statistics do not fit input ", shape_str(x.shape()));
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype(), dev);
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({D}, x.dtype(), dev);
  if (needs[2]) r.bias = Tensor::empty({D}, x.dtype(), dev);
  if (rows == 0) {
    if (r.weight.defined()) r.weight.zero_();
    if (r.bias.defined()) r.bias.zero_();
    return r;
  }
  const Tensor xc = x.contiguous(), gc = grad_out.contiguous(), mc = mean.contiguous(), ic = invstd.contiguous(),
               wc = contiguous_or_none(weight);
  cudaStream_t st = stream_of(x);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (r.input.defined()) {
      grad_input_kernel<T><<<row_blocks(rows), dim3(32, kRowsPerBlock), 0, st>>>(
          gc.data<T>(), xc.data<T>(), ptr_or_null<T>(wc), mc.data<T>(), ic.data<T>(), r.input.data<T>(), rows, D);
      CUTTLE_CUDA_CHECK_LAUNCH(op);
    }
    if (!r.weight.defined() && !r.bias.defined()) return;
    const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
    Tensor partials = Tensor::empty({2 * chunks * D}, DType::f64, dev);
    const dim3 grid((unsigned)((D + 31) / 32), (unsigned)std::min<int64_t>(chunks, 65535));
    param_partials_kernel<T><<<grid, dim3(32, kRowsPerBlock), 0, st>>>(gc.data<T>(), xc.data<T>(), mc.data<T>(),
                                                                       ic.data<T>(), partials.data<double>(), rows, D,
                                                                       chunks);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
    channel_finish_kernel<2><<<(int)std::min<int64_t>(D, 65535), kThreads, 0, st>>>(
        partials.data<double>(), D, chunks, 1, D, chunks * D, ParamFin<T>{ptr_or_null<T>(r.weight), ptr_or_null<T>(r.bias)});
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

}  // namespace cuttle::engine::cuda
