// CUDA kernels of 2-D pooling (engine/cuda/pool.h). Window geometry follows the CPU kernels
// (engine/cpu/pool.cpp, adaptive_pool.cpp) term for term.
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/pool.h"
#include "engine/cuda/scatter.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

struct PoolGeom {
  int64_t planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw;
};
PoolGeom make_geom(const Shape& x, const Shape& y, Size2 k, Size2 s, Size2 p) {
  return {x[0] * x[1], x[2], x[3], y[2], y[3], k[0], k[1], s[0], s[1], p[0], p[1]};
}

struct Window {
  int64_t h0, h1, w0, w1, divisor;
};
// Output (oh, ow)'s window clipped to the input, and avg pooling's divisor (as the CPU's window()).
__device__ Window window(const PoolGeom& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = min(h0 + g.kh, g.H + g.ph), w1 = min(w0 + g.kw, g.W + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = max(h0, (int64_t)0);
  w0 = max(w0, (int64_t)0);
  h1 = min(h1, g.H);
  w1 = min(w1, g.W);
  return {h0, h1, w0, w1, count_include_pad ? padded : (h1 - h0) * (w1 - w0)};
}

// Outputs whose window covers input row h: oh * s - p <= h < oh * s - p + k.
__device__ void covering(int64_t h, int64_t k, int64_t s, int64_t p, int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t t = h + p - k + 1;
  lo = t <= 0 ? 0 : (t + s - 1) / s;
  hi = min((h + p) / s, out - 1);
}

template <typename T>
__global__ void avg_pool_fwd(const T* x, T* y, PoolGeom g, bool cip) {
  CUTTLE_KERNEL_LOOP(o, g.planes * g.OH * g.OW) {
    const int64_t pl = o / (g.OH * g.OW), r = o % (g.OH * g.OW), oh = r / g.OW, ow = r % g.OW;
    const Window w = window(g, oh, ow, cip);
    const T* xp = x + pl * g.H * g.W;
    T acc = 0;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) acc += xp[h * g.W + c];
    y[o] = acc / T(w.divisor);
  }
}

template <typename T>
__global__ void avg_pool_bwd(const T* gy, T* gx, PoolGeom g, bool cip) {
  CUTTLE_KERNEL_LOOP(i, g.planes * g.H * g.W) {
    const int64_t pl = i / (g.H * g.W), r = i % (g.H * g.W), h = r / g.W, c = r % g.W;
    int64_t oh0, oh1, ow0, ow1;
    covering(h, g.kh, g.sh, g.ph, g.OH, oh0, oh1);
    covering(c, g.kw, g.sw, g.pw, g.OW, ow0, ow1);
    const T* gyp = gy + pl * g.OH * g.OW;
    T acc = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) acc += gyp[oh * g.OW + ow] / T(window(g, oh, ow, cip).divisor);
    gx[i] = acc;
  }
}

template <typename T>
__global__ void max_pool_fwd(const T* x, T* y, int64_t* idx, PoolGeom g) {
  CUTTLE_KERNEL_LOOP(o, g.planes * g.OH * g.OW) {
    const int64_t pl = o / (g.OH * g.OW), r = o % (g.OH * g.OW), oh = r / g.OW, ow = r % g.OW;
    const Window w = window(g, oh, ow, true);
    const T* xp = x + pl * g.H * g.W;
    int64_t best_i = w.h0 * g.W + w.w0;
    T best = xp[best_i];
    for (int64_t h = w.h0; h < w.h1 && !isnan(best); ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) {
        const T v = xp[h * g.W + c];
        if (v > best || isnan(v)) {
          best = v;
          best_i = h * g.W + c;
          if (isnan(v)) break;
        }
      }
    y[o] = best;
    idx[o] = best_i;
  }
}

// Plane-flat index -> flat index into the input, the key of the sorted scatter.
__global__ void max_pool_keys(const int64_t* idx, int64_t* keys, int64_t n, int64_t ohw, int64_t hw) {
  CUTTLE_KERNEL_LOOP(o, n) keys[o] = (o / ohw) * hw + idx[o];
}

__device__ inline int64_t bin_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
__device__ inline int64_t bin_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <typename T>
__global__ void adaptive_fwd_thread(const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  CUTTLE_KERNEL_LOOP(o, planes * OH * OW) {
    const int64_t pl = o / (OH * OW), r = o % (OH * OW), i = r / OW, j = r % OW;
    const int64_t h0 = bin_start(i, H, OH), h1 = bin_end(i, H, OH), w0 = bin_start(j, W, OW), w1 = bin_end(j, W, OW);
    const T* xp = x + pl * H * W;
    T acc = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) acc += xp[h * W + w];
    y[o] = acc / T((h1 - h0) * (w1 - w0));
  }
}

// Large bins (global pooling): one warp per output, lanes over the bin's cells, a fixed shuffle tree.
template <typename T>
__global__ void adaptive_fwd_warp(const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t outputs = planes * OH * OW, warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  const int lane = threadIdx.x & 31;
  for (int64_t o = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < outputs; o += warps) {
    const int64_t pl = o / (OH * OW), r = o % (OH * OW), i = r / OW, j = r % OW;
    const int64_t h0 = bin_start(i, H, OH), h1 = bin_end(i, H, OH), w0 = bin_start(j, W, OW), w1 = bin_end(j, W, OW);
    const int64_t bw = w1 - w0, cells = (h1 - h0) * bw;
    const T* xp = x + pl * H * W;
    double acc = 0;
    for (int64_t c = lane; c < cells; c += 32) acc += xp[(h0 + c / bw) * W + w0 + c % bw];
    acc = warp_sum(acc);
    if (lane == 0) y[o] = (T)(acc / (double)cells);
  }
}

template <typename T>
__global__ void adaptive_bwd(const T* gy, T* gx, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  CUTTLE_KERNEL_LOOP(e, planes * H * W) {
    const int64_t pl = e / (H * W), r = e % (H * W), h = r / W, w = r % W;
    // Bins holding h lie around h * OH / H; the loop bounds are loose and the test exact.
    const int64_t i0 = max(h * OH / H - 1, (int64_t)0), i1 = min((h + 1) * OH / H + 1, OH - 1);
    const int64_t j0 = max(w * OW / W - 1, (int64_t)0), j1 = min((w + 1) * OW / W + 1, OW - 1);
    const T* gyp = gy + pl * OH * OW;
    T acc = 0;
    for (int64_t i = i0; i <= i1; ++i) {
      const int64_t hs = bin_start(i, H, OH), he = bin_end(i, H, OH);
      if (h < hs || h >= he) continue;
      for (int64_t j = j0; j <= j1; ++j) {
        const int64_t ws = bin_start(j, W, OW), we = bin_end(j, W, OW);
        if (w < ws || w >= we) continue;
        acc += gyp[i * OW + j] / T((he - hs) * (we - ws));
      }
    }
    gx[e] = acc;
  }
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, const Shape& y_shape, Size2 kernel, Size2 stride, Size2 padding,
                  bool count_include_pad) {
  Tensor y = Tensor::empty(y_shape, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const PoolGeom g = make_geom(x.shape(), y_shape, kernel, stride, padding);
  dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_fwd<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(), g, count_include_pad);
    CUTTLE_CUDA_CHECK_LAUNCH("avg_pool2d");
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape, Size2 kernel, Size2 stride, Size2 padding,
                           bool count_include_pad) {
  Tensor gx = Tensor::empty(x_shape, grad_out.dtype(), grad_out.device());
  if (gx.numel() == 0) return gx;
  DeviceGuard guard(gx.device().index);
  const Tensor gyc = grad_out.contiguous();
  const PoolGeom g = make_geom(x_shape, grad_out.shape(), kernel, stride, padding);
  dispatch_float(gx.dtype(), "avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_bwd<T><<<blocks_for(gx.numel()), kThreads, 0, stream_of(gx)>>>(gyc.data<T>(), gx.data<T>(), g,
                                                                           count_include_pad);
    CUTTLE_CUDA_CHECK_LAUNCH("avg_pool2d_backward");
  });
  return gx;
}

MaxPool2dResult max_pool2d(const Tensor& x, const Shape& y_shape, Size2 kernel, Size2 stride, Size2 padding) {
  MaxPool2dResult r{Tensor::empty(y_shape, x.dtype(), x.device()), Tensor::empty(y_shape, DType::i64, x.device())};
  if (r.output.numel() == 0) return r;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const PoolGeom g = make_geom(x.shape(), y_shape, kernel, stride, padding);
  dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_fwd<T><<<blocks_for(r.output.numel()), kThreads, 0, stream_of(x)>>>(xc.data<T>(), r.output.data<T>(),
                                                                                r.indices.data<int64_t>(), g);
    CUTTLE_CUDA_CHECK_LAUNCH("max_pool2d");
  });
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& x_shape) {
  Tensor gx = Tensor::zeros(x_shape, grad_out.dtype(), grad_out.device());
  const int64_t n = grad_out.numel(), hw = x_shape[2] * x_shape[3];
  if (n == 0 || gx.numel() == 0) return gx;
  check_index_range("max_pool2d_backward", indices, hw, "its input plane");
  DeviceGuard guard(gx.device().index);
  const Tensor ic = indices.contiguous(), gyc = grad_out.contiguous();
  Tensor keys = Tensor::empty({n}, DType::i64, gx.device());
  max_pool_keys<<<blocks_for(n), kThreads, 0, stream_of(gx)>>>(ic.data<int64_t>(), keys.data<int64_t>(), n,
                                                               grad_out.size(2) * grad_out.size(3), hw);
  CUTTLE_CUDA_CHECK_LAUNCH("max_pool2d_backward");
  scatter_add_sorted(gx, keys, gyc.reshape({n}));
  return gx;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  // Bins of more than 64 cells (the global pooling of SE gates and the MoE router) get a warp each.
  const bool big_bins = (H / out_h) * (W / out_w) > 64;
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (big_bins)
      adaptive_fwd_warp<T><<<grid_for(y.numel(), kThreads / 32), kThreads, 0, stream_of(x)>>>(
          xc.data<T>(), y.data<T>(), planes, H, W, out_h, out_w);
    else
      adaptive_fwd_thread<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(), planes,
                                                                                 H, W, out_h, out_w);
    CUTTLE_CUDA_CHECK_LAUNCH("adaptive_avg_pool2d");
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape) {
  Tensor gx = Tensor::empty(x_shape, grad_out.dtype(), grad_out.device());
  if (gx.numel() == 0) return gx;
  DeviceGuard guard(gx.device().index);
  const Tensor gyc = grad_out.contiguous();
  dispatch_float(gx.dtype(), "adaptive_avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    adaptive_bwd<T><<<blocks_for(gx.numel()), kThreads, 0, stream_of(gx)>>>(
        gyc.data<T>(), gx.data<T>(), x_shape[0] * x_shape[1], x_shape[2], x_shape[3], grad_out.size(2), grad_out.size(3));
    CUTTLE_CUDA_CHECK_LAUNCH("adaptive_avg_pool2d_backward");
  });
  return gx;
}

}  // namespace cuttle::engine::cuda
