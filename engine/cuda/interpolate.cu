// CUDA bilinear resize and its backward (engine/cuda/interpolate.h). Taps are computed in double
// exactly as the CPU's make_taps (rounded multiplies and adds, so no fused multiply-add moves a tap).
#include "engine/cuda/interpolate.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

// One axis: `in` source cells sampled at `out` positions.
struct Axis {
  int64_t in, out;
  double scale;
  bool align_corners;
};
Axis make_axis(int64_t in, int64_t out, bool align_corners) {
  const double scale = align_corners ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0) : double(in) / double(out);
  return {in, out, scale, align_corners};
}

// Lower tap of output d and the weight of the upper tap (the lower one gets 1 - lambda).
__device__ inline int64_t tap(const Axis& a, int64_t d, double& lambda) {
  double src = a.align_corners ? __dmul_rn((double)d, a.scale) : __dadd_rn(__dmul_rn(d + 0.5, a.scale), -0.5);
  if (src < 0) src = 0;
  const int64_t i0 = min((int64_t)floor(src), a.in - 1);
  lambda = src - (double)i0;
  return i0;
}
__device__ inline int64_t tap0(const Axis& a, int64_t d) {
  double unused;
  return tap(a, d, unused);
}

// Output positions whose taps include input cell c: the lower tap is c - 1 or c, a contiguous range
// since taps never decrease. Returns [lo, hi).
__device__ inline void sampling(const Axis& a, int64_t c, int64_t& lo, int64_t& hi) {
  int64_t l = 0, h = a.out;  // first d with tap0(d) >= c - 1
  while (l < h) {
    const int64_t m = (l + h) / 2;
    if (tap0(a, m) >= c - 1) h = m;
    else l = m + 1;
  }
  lo = l;
  hi = l;
  while (hi < a.out && tap0(a, hi) <= c) ++hi;
}

// Weight with which output d's sample reads input cell c (0 when it does not).
template <typename T>
__device__ inline T weight(const Axis& a, int64_t d, int64_t c) {
  double l;
  const int64_t i0 = tap(a, d, l), i1 = min(i0 + 1, a.in - 1);
  const T lam = (T)l;
  return (i0 == c ? T(1) - lam : T(0)) + (i1 == c ? lam : T(0));
}

template <typename T>
__global__ void resize_fwd(const T* x, T* y, int64_t planes, Axis ah, Axis aw) {
  CUTTLE_KERNEL_LOOP(o, planes * ah.out * aw.out) {
    const int64_t pl = o / (ah.out * aw.out), r = o % (ah.out * aw.out), oh = r / aw.out, ow = r % aw.out;
    double lhd, lwd;
    const int64_t h0 = tap(ah, oh, lhd), w0 = tap(aw, ow, lwd);
    const int64_t h1 = min(h0 + 1, ah.in - 1), w1 = min(w0 + 1, aw.in - 1);
    const T lh = (T)lhd, lw = (T)lwd;
    const T* xp = x + pl * ah.in * aw.in;
    const T* r0 = xp + h0 * aw.in;
    const T* r1 = xp + h1 * aw.in;
    y[o] = (T(1) - lh) * ((T(1) - lw) * r0[w0] + lw * r0[w1]) + lh * ((T(1) - lw) * r1[w0] + lw * r1[w1]);
  }
}

template <typename T>
__global__ void resize_bwd(const T* gy, T* gx, int64_t planes, Axis ah, Axis aw) {
  CUTTLE_KERNEL_LOOP(i, planes * ah.in * aw.in) {
    const int64_t pl = i / (ah.in * aw.in), r = i % (ah.in * aw.in), h = r / aw.in, w = r % aw.in;
    int64_t oh0, oh1, ow0, ow1;
    sampling(ah, h, oh0, oh1);
    sampling(aw, w, ow0, ow1);
    const T* gyp = gy + pl * ah.out * aw.out;
    T acc = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const T wh = weight<T>(ah, oh, h);
      T row = 0;
      for (int64_t ow = ow0; ow < ow1; ++ow) row += weight<T>(aw, ow, w) * gyp[oh * aw.out + ow];
      acc += wh * row;
    }
    gx[i] = acc;
  }
}

}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const Tensor xc = x.contiguous();
  const Axis ah = make_axis(x.size(2), out_h, align_corners), aw = make_axis(x.size(3), out_w, align_corners);
  dispatch_float(x.dtype(), "resize_bilinear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    resize_fwd<T><<<blocks_for(y.numel()), kThreads, 0, stream_of(x)>>>(xc.data<T>(), y.data<T>(),
                                                                       x.size(0) * x.size(1), ah, aw);
    CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear");
  });
  return y;
}

Tensor resize_bilinear_backward(const Tensor& grad_out, const Shape& x_shape, bool align_corners) {
  Tensor gx = Tensor::empty(x_shape, grad_out.dtype(), grad_out.device());
  if (gx.numel() == 0) return gx;
  DeviceGuard guard(gx.device().index);
  const Tensor gyc = grad_out.contiguous();
  const Axis ah = make_axis(x_shape[2], grad_out.size(2), align_corners);
  const Axis aw = make_axis(x_shape[3], grad_out.size(3), align_corners);
  dispatch_float(gx.dtype(), "resize_bilinear_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    resize_bwd<T><<<blocks_for(gx.numel()), kThreads, 0, stream_of(gx)>>>(gyc.data<T>(), gx.data<T>(),
                                                                         x_shape[0] * x_shape[1], ah, aw);
    CUTTLE_CUDA_CHECK_LAUNCH("resize_bilinear_backward");
  });
  return gx;
}

}  // namespace cuttle::engine::cuda
