// CPU kernels of bilinear resizing (engine/ops/interpolate.h). Taps and weights are computed once
// per output row and column; the backward scatters one plane per thread, so it needs no atomics.
#include <cmath>
#include <vector>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/pool_planes.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/interpolate.h"
#endif
#include "engine/ops/interpolate.h"

namespace cuttle::engine {

namespace {

template <typename T>
struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<T> lambda;  // weight of i1; i0 gets 1 - lambda
};

template <typename T>
Taps<T> make_taps(int64_t in, int64_t out, bool align_corners) {
  Taps<T> t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.lambda.resize(out);
  const double scale = align_corners ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0) : double(in) / double(out);
  for (int64_t d = 0; d < out; ++d) {
    double src = align_corners ? d * scale : (d + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const int64_t i0 = std::min<int64_t>((int64_t)std::floor(src), in - 1);
    t.i0[d] = i0;
    t.i1[d] = std::min<int64_t>(i0 + 1, in - 1);
    t.lambda[d] = static_cast<T>(src - (double)i0);
  }
  return t;
}

void check_sizes(const char* op, const Shape& x, int64_t out_h, int64_t out_w) {
  CUTTLE_CHECK(x.size() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x));
  CUTTLE_CHECK(x[2] >= 1 && x[3] >= 1 && out_h >= 1 && out_w >= 1, op, ": cannot resize ", shape_str(x), " to ",
               out_h, "x", out_w);
}

}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  CUTTLE_CHECK(x.defined(), "resize_bilinear: the input is undefined");
  check_sizes("resize_bilinear", x.shape(), out_h, out_w);
  CUTTLE_ROUTE_CUDA("resize_bilinear", cuda::resize_bilinear(x, out_h, out_w, align_corners), x);
  cpu::require_cpu("resize_bilinear", x);
  const int64_t H = x.size(2), W = x.size(3);
  Tensor out = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype());
  const Tensor xc = x.contiguous();
  dispatch_float(x.dtype(), "resize_bilinear", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Taps<T> th = make_taps<T>(H, out_h, align_corners), tw = make_taps<T>(W, out_w, align_corners);
    const T* px = xc.data<T>();
    T* py = out.data<T>();
    cpu::for_each_plane(x.size(0) * x.size(1), 4 * out_h * out_w, [&](int64_t pl) {
      const T* xp = px + pl * H * W;
      T* yp = py + pl * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const T* r0 = xp + th.i0[oh] * W;
        const T* r1 = xp + th.i1[oh] * W;
        const T lh = th.lambda[oh];
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t c0 = tw.i0[ow], c1 = tw.i1[ow];
          const T lw = tw.lambda[ow];
          yp[oh * out_w + ow] = (T(1) - lh) * ((T(1) - lw) * r0[c0] + lw * r0[c1]) + lh * ((T(1) - lw) * r1[c0] + lw * r1[c1]);
        }
      }
    });
  });
  return out;
}

Tensor resize_bilinear_backward(const Tensor& grad_out, const Shape& x_shape, bool align_corners) {
  CUTTLE_CHECK(grad_out.defined(), "resize_bilinear_backward: grad_out is undefined");
  CUTTLE_CHECK(grad_out.dim() == 4, "resize_bilinear_backward: grad_out must be [N,C,OH,OW], got ",
               shape_str(grad_out.shape()));
  const int64_t out_h = grad_out.size(2), out_w = grad_out.size(3);
  check_sizes("resize_bilinear_backward", x_shape, out_h, out_w);
  CUTTLE_CHECK(grad_out.size(0) == x_shape[0] && grad_out.size(1) == x_shape[1], "resize_bilinear_backward: grad_out ",
               shape_str(grad_out.shape()), " does not fit input ", shape_str(x_shape));
  CUTTLE_ROUTE_CUDA("resize_bilinear_backward", cuda::resize_bilinear_backward(grad_out, x_shape, align_corners),
                    grad_out);
  cpu::require_cpu("resize_bilinear_backward", grad_out);
  const int64_t H = x_shape[2], W = x_shape[3];
  Tensor gx = Tensor::zeros(x_shape, grad_out.dtype());
  const Tensor gyc = grad_out.contiguous();
  dispatch_float(grad_out.dtype(), "resize_bilinear_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Taps<T> th = make_taps<T>(H, out_h, align_corners), tw = make_taps<T>(W, out_w, align_corners);
    const T* pgy = gyc.data<T>();
    T* pgx = gx.data<T>();
    cpu::for_each_plane(x_shape[0] * x_shape[1], 4 * out_h * out_w, [&](int64_t pl) {
      T* gxp = pgx + pl * H * W;
      const T* gyp = pgy + pl * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        T* r0 = gxp + th.i0[oh] * W;
        T* r1 = gxp + th.i1[oh] * W;
        const T lh = th.lambda[oh];
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t c0 = tw.i0[ow], c1 = tw.i1[ow];
          const T lw = tw.lambda[ow], g = gyp[oh * out_w + ow];
          r0[c0] += (T(1) - lh) * (T(1) - lw) * g;
          r0[c1] += (T(1) - lh) * lw * g;
          r1[c0] += lh * (T(1) - lw) * g;
          r1[c1] += lh * lw * g;
        }
      }
    });
  });
  return gx;
}

}  // namespace cuttle::engine
