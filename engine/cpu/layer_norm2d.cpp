// CPU kernels of layer normalisation over the channels of NCHW tensors (engine/ops/norm.h). The
// statistics of a pixel are read across channel planes, so work is split into blocks of pixels of
// one sample and each channel's plane is streamed contiguously (vectorisable, no permute copy).
#include <cmath>
#include <vector>

#include "engine/cpu/norm_common.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/norm.h"
#endif
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/ops/norm.h"
#include "engine/parallel.h"

namespace cuttle::engine {

namespace {

constexpr int64_t kPixelBlock = 256;

struct Ln2dGeom {
  int64_t N, C, HW, blocks;
  explicit Ln2dGeom(const Shape& x) : N(x[0]), C(x[1]), HW(x[2] * x[3]), blocks((HW + kPixelBlock - 1) / kPixelBlock) {}
  int64_t grain() const { return std::max<int64_t>(1, kParallelGrain / (kPixelBlock * std::max<int64_t>(C, 1))); }
};

// Runs fn(n, p0, p1) for every block of pixels [p0, p1) of sample n, spread over threads.
template <typename Fn>
void for_pixel_blocks(const Ln2dGeom& g, const Fn& fn) {
  parallel_for(0, g.N * g.blocks, g.grain(), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / g.blocks, p0 = b % g.blocks * kPixelBlock;
      fn(n, p0, std::min(p0 + kPixelBlock, g.HW));
    }
  });
}

}  // namespace

LayerNormResult layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  CUTTLE_ROUTE_CUDA("layer_norm2d", cuda::layer_norm2d(x, weight, bias, eps), x, weight, bias);
  const char* op = "layer_norm2d";
  cpu::require_cpu(op, x);
  CUTTLE_CHECK(x.dim() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x.shape()));
  const Ln2dGeom g(x.shape());
  cpu::check_param(op, "weight", weight, x, g.C);
  cpu::check_param(op, "bias", bias, x, g.C);
  LayerNormResult r{Tensor::empty(x.shape(), x.dtype()), Tensor::empty({g.N, x.size(2), x.size(3)}, x.dtype()),
                    Tensor::empty({g.N, x.size(2), x.size(3)}, x.dtype())};
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : Tensor(),
               bc = bias.defined() ? bias.contiguous() : Tensor();
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    const T* pw = cpu::data_or_null<T>(wc);
    const T* pb = cpu::data_or_null<T>(bc);
    T* py = r.output.data<T>();
    T* pm = r.mean.data<T>();
    T* pi = r.invstd.data<T>();
    for_pixel_blocks(g, [&](int64_t n, int64_t p0, int64_t p1) {
      const int64_t len = p1 - p0;
      double mean[kPixelBlock] = {}, sq[kPixelBlock] = {};
      const T* xs = px + n * g.C * g.HW + p0;
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t i = 0; i < len; ++i) mean[i] += xs[c * g.HW + i];
      for (int64_t i = 0; i < len; ++i) mean[i] /= g.C;
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t i = 0; i < len; ++i) {
          const double d = xs[c * g.HW + i] - mean[i];
          sq[i] += d * d;
        }
      T m[kPixelBlock], s[kPixelBlock];
      for (int64_t i = 0; i < len; ++i) {
        m[i] = static_cast<T>(mean[i]);
        s[i] = static_cast<T>(1.0 / std::sqrt(sq[i] / g.C + eps));
        pm[n * g.HW + p0 + i] = m[i];
        pi[n * g.HW + p0 + i] = s[i];
      }
      for (int64_t c = 0; c < g.C; ++c) {
        const T w = pw ? pw[c] : T(1), b = pb ? pb[c] : T(0);
        T* yr = py + (n * g.C + c) * g.HW + p0;
        const T* xr = xs + c * g.HW;
        for (int64_t i = 0; i < len; ++i) yr[i] = (xr[i] - m[i]) * s[i] * w + b;
      }
    });
  });
  return r;
}

NormGrads layer_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, NormNeeds needs) {
  CUTTLE_ROUTE_CUDA("layer_norm2d_backward", cuda::layer_norm2d_backward(grad_out, x, weight, mean, invstd, needs),
                    grad_out, x, weight, mean, invstd);
  const char* op = "layer_norm2d_backward";
  cpu::require_cpu(op, grad_out, x, mean, invstd);
  cpu::require_same_dtype(op, grad_out, x);
  CUTTLE_CHECK(x.dim() == 4 && grad_out.shape() == x.shape(), op, ": grad_out ", shape_str(grad_out.shape()),
               " must match input ", shape_str(x.shape()), " [N,C,H,W]");
  const Ln2dGeom g(x.shape());
  cpu::check_param(op, "weight", weight, x, g.C);
  CUTTLE_CHECK(mean.numel() == g.N * g.HW && invstd.numel() == g.N * g.HW, op, ": saved statistics ",
               shape_str(mean.shape()), " do not fit input ", shape_str(x.shape()));
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype());
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({g.C}, x.dtype());
  if (needs[2]) r.bias = Tensor::empty({g.C}, x.dtype());
  const Tensor xc = x.contiguous(), gyc = grad_out.contiguous(), mc = mean.contiguous(), ic = invstd.contiguous(),
               wc = weight.defined() ? weight.contiguous() : Tensor();
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    const T* pg = gyc.data<T>();
    const T* pw = cpu::data_or_null<T>(wc);
    const T* pm = mc.data<T>();
    const T* pi = ic.data<T>();
    if (r.input.defined()) {
      T* gx = r.input.data<T>();
      // gx = invstd (g w - mean_c(g w) - xhat mean_c(g w xhat))
      for_pixel_blocks(g, [&](int64_t n, int64_t p0, int64_t p1) {
        const int64_t len = p1 - p0;
        const T* m = pm + n * g.HW + p0;
        const T* s = pi + n * g.HW + p0;
        double a[kPixelBlock] = {}, b[kPixelBlock] = {};
        for (int64_t c = 0; c < g.C; ++c) {
          const double w = pw ? pw[c] : 1.0;
          const T* xr = px + (n * g.C + c) * g.HW + p0;
          const T* gr = pg + (n * g.C + c) * g.HW + p0;
          for (int64_t i = 0; i < len; ++i) {
            const double gw = gr[i] * w;
            a[i] += gw;
            b[i] += gw * (xr[i] - double(m[i])) * s[i];
          }
        }
        for (int64_t i = 0; i < len; ++i) {
          a[i] /= g.C;
          b[i] /= g.C;
        }
        for (int64_t c = 0; c < g.C; ++c) {
          const double w = pw ? pw[c] : 1.0;
          const T* xr = px + (n * g.C + c) * g.HW + p0;
          const T* gr = pg + (n * g.C + c) * g.HW + p0;
          T* out = gx + (n * g.C + c) * g.HW + p0;
          for (int64_t i = 0; i < len; ++i) {
            const double xhat = (xr[i] - double(m[i])) * s[i];
            out[i] = static_cast<T>(s[i] * (gr[i] * w - a[i] - xhat * b[i]));
          }
        }
      });
    }
    T* gw = r.weight.defined() ? r.weight.data<T>() : nullptr;
    T* gb = r.bias.defined() ? r.bias.data<T>() : nullptr;
    if (!gw && !gb) return;
    parallel_for(0, g.C, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, g.N * g.HW)), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double sw = 0, sb = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* xr = px + (n * g.C + c) * g.HW;
          const T* gr = pg + (n * g.C + c) * g.HW;
          const T* m = pm + n * g.HW;
          const T* s = pi + n * g.HW;
          for (int64_t i = 0; i < g.HW; ++i) {
            sw += gr[i] * (xr[i] - double(m[i])) * s[i];
            sb += gr[i];
          }
        }
        if (gw) gw[c] = static_cast<T>(sw);
        if (gb) gb[c] = static_cast<T>(sb);
      }
    });
  });
  return r;
}

}  // namespace cuttle::engine
