// CPU kernels of layer normalisation over the last axis (engine/ops/norm.h). Rows are independent;
// the weight and bias gradients give each thread a range of columns summed over rows in order.
#include <cmath>

#include "engine/cpu/norm_common.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/norm.h"
#endif
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/ops/norm.h"
#include "engine/parallel.h"

namespace cuttle::engine {

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  CUTTLE_ROUTE_CUDA("layer_norm", cuda::layer_norm(x, weight, bias, eps), x, weight, bias);
  const char* op = "layer_norm";
  cpu::require_cpu(op, x);
  CUTTLE_CHECK(x.dim() >= 1 && x.size(-1) >= 1, op, ": cannot normalise the last axis of ", shape_str(x.shape()));
  const int64_t D = x.size(-1), rows = x.numel() / D;
  cpu::check_param(op, "weight", weight, x, D);
  cpu::check_param(op, "bias", bias, x, D);
  Shape stat_shape(x.shape().begin(), x.shape().end() - 1);
  LayerNormResult r{Tensor::empty(x.shape(), x.dtype()), Tensor::empty(stat_shape, x.dtype()),
                    Tensor::empty(stat_shape, x.dtype())};
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
    parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / D), [&](int64_t r0, int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        const T* xr = px + row * D;
        T* yr = py + row * D;
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < D; ++j) sum += xr[j];
        const double mean = sum / D;
        for (int64_t j = 0; j < D; ++j) sq += (xr[j] - mean) * (xr[j] - mean);
        const double invstd = 1.0 / std::sqrt(sq / D + eps);
        pm[row] = static_cast<T>(mean);
        pi[row] = static_cast<T>(invstd);
        const T m = static_cast<T>(mean), s = static_cast<T>(invstd);
        for (int64_t j = 0; j < D; ++j) {
          const T v = (xr[j] - m) * s;
          yr[j] = (pw ? v * pw[j] : v) + (pb ? pb[j] : T(0));
        }
      }
    });
  });
  return r;
}

NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, NormNeeds needs) {
  CUTTLE_ROUTE_CUDA("layer_norm_backward", cuda::layer_norm_backward(grad_out, x, weight, mean, invstd, needs), grad_out,
                    x, weight, mean, invstd);
  const char* op = "layer_norm_backward";
  cpu::require_cpu(op, grad_out, x, mean, invstd);
  cpu::require_same_dtype(op, grad_out, x);
  CUTTLE_CHECK(x.dim() >= 1 && grad_out.shape() == x.shape(), op, ": grad_out ", shape_str(grad_out.shape()),
               " must match input ", shape_str(x.shape()));
  const int64_t D = x.size(-1), rows = x.numel() / D;
  cpu::check_param(op, "weight", weight, x, D);
  CUTTLE_CHECK(mean.numel() == rows && invstd.numel() == rows, op, ": saved statistics ", shape_str(mean.shape()),
               " do not fit input ", shape_str(x.shape()));
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype());
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({D}, x.dtype());
  if (needs[2]) r.bias = Tensor::empty({D}, x.dtype());
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
      // gx = invstd (g w - mean(g w) - xhat mean(g w xhat))
      parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / D), [&](int64_t r0, int64_t r1) {
        for (int64_t row = r0; row < r1; ++row) {
          const T* xr = px + row * D;
          const T* gr = pg + row * D;
          const double m = pm[row], s = pi[row];
          double a = 0, b = 0;
          for (int64_t j = 0; j < D; ++j) {
            const double gw = pw ? double(gr[j]) * pw[j] : double(gr[j]);
            a += gw;
            b += gw * (xr[j] - m) * s;
          }
          a /= D;
          b /= D;
          T* out = gx + row * D;
          for (int64_t j = 0; j < D; ++j) {
            const double gw = pw ? double(gr[j]) * pw[j] : double(gr[j]);
            out[j] = static_cast<T>(s * (gw - a - (xr[j] - m) * s * b));
          }
        }
      });
    }
    T* gw = r.weight.defined() ? r.weight.data<T>() : nullptr;
    T* gb = r.bias.defined() ? r.bias.data<T>() : nullptr;
    if (!gw && !gb) return;
    parallel_for(0, D, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, rows)), [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        double sw = 0, sb = 0;
        for (int64_t row = 0; row < rows; ++row) {
          const double g = pg[row * D + j];
          sw += g * (px[row * D + j] - double(pm[row])) * double(pi[row]);
          sb += g;
        }
        if (gw) gw[j] = static_cast<T>(sw);
        if (gb) gb[j] = static_cast<T>(sb);
      }
    });
  });
  return r;
}

}  // namespace cuttle::engine
