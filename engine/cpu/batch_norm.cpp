// CPU kernels of batch normalisation (engine/ops/norm.h). One thread owns each channel, reading it
// sample by sample, so every statistic is summed in the same order whatever the thread count.
#include <cmath>

#include "engine/cpu/lane_sum.h"
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

// x viewed as [N, C, S].
struct BnGeom {
  int64_t N, C, S;
  explicit BnGeom(const Shape& x) : N(x[0]), C(x[1]), S(1) {
    for (size_t d = 2; d < x.size(); ++d) S *= x[d];
  }
  int64_t grain() const { return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, N * S)); }
};

// Calls fn(row, len) for each of channel c's N contiguous rows.
template <typename Fn>
void for_channel_rows(const BnGeom& g, int64_t c, const Fn& fn) {
  for (int64_t n = 0; n < g.N; ++n) fn((n * g.C + c) * g.S, g.S);
}

}  // namespace

void check_running_mean_shift(const char* op, const Tensor& shift, const Tensor& running_mean, bool training,
                              const Tensor& x, int64_t C) {
  if (!shift.defined()) return;
  CUTTLE_CHECK(training && running_mean.defined(), op,
               ": running_mean_shift needs training mode with running statistics (it only enters their update)");
  CUTTLE_CHECK(shift.dim() == 1 && shift.size(0) == C && shift.dtype() == x.dtype() && shift.device() == x.device(), op,
               ": running_mean_shift ", shift.str(), " must be [", C, "] of the input's dtype and device (", x.str(), ")");
}

BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum, double eps,
                           const Tensor& running_mean_shift) {
  CUTTLE_ROUTE_CUDA("batch_norm",
                    cuda::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, false,
                                     running_mean_shift),
                    x, weight, bias, running_mean, running_var, running_mean_shift);
  const char* op = "batch_norm";
  cpu::require_cpu(op, x);
  CUTTLE_CHECK(x.dim() >= 2, op, ": input must be [N, C, ...], got ", shape_str(x.shape()));
  const BnGeom g(x.shape());
  cpu::check_param(op, "weight", weight, x, g.C);
  cpu::check_param(op, "bias", bias, x, g.C);
  cpu::check_param(op, "running_mean", running_mean, x, g.C);
  cpu::check_param(op, "running_var", running_var, x, g.C);
  CUTTLE_CHECK(running_mean.defined() == running_var.defined(), op, ": give both running stats or neither");
  CUTTLE_CHECK(!running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()), op,
               ": running stats must be contiguous (they are updated in place)");
  CUTTLE_CHECK(training || running_mean.defined(), op, ": eval mode needs running_mean and running_var");
  check_running_mean_shift(op, running_mean_shift, running_mean, training, x, g.C);
  const int64_t M = g.N * g.S;
  CUTTLE_CHECK(!training || M > 1, op, ": training needs more than one value per channel, got input ",
               shape_str(x.shape()));

  BatchNormResult r{Tensor::empty(x.shape(), x.dtype()), Tensor::empty({g.C}, x.dtype()),
                    Tensor::empty({g.C}, x.dtype())};
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : Tensor(),
               bc = bias.defined() ? bias.contiguous() : Tensor();
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    const T* pw = cpu::data_or_null<T>(wc);
    const T* pb = cpu::data_or_null<T>(bc);
    T* py = r.output.data<T>();
    T* pmean = r.save_mean.data<T>();
    T* pinv = r.save_invstd.data<T>();
    T* rm = running_mean.defined() ? running_mean.data<T>() : nullptr;
    T* rv = running_var.defined() ? running_var.data<T>() : nullptr;
    const Tensor shift_c = running_mean_shift.defined() ? running_mean_shift.contiguous() : Tensor();
    const T* shift = cpu::data_or_null<T>(shift_c);
    parallel_for(0, g.C, g.grain(), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double mean, var;
        if (training) {
          double sum = 0, sq = 0;  // two passes: the mean first, then squared deviations
          for_channel_rows(g, c, [&](int64_t o, int64_t len) {
            sum += cpu::lane_sum(len, [&](int64_t i) { return px[o + i]; });
          });
          mean = sum / M;
          for_channel_rows(g, c, [&](int64_t o, int64_t len) {
            sq += cpu::lane_sum(len, [&](int64_t i) {
              const double d = px[o + i] - mean;
              return d * d;
            });
          });
          var = sq / M;
          if (rm) {
            rm[c] = static_cast<T>((1 - momentum) * rm[c] + momentum * (mean + (shift ? (double)shift[c] : 0.0)));
            rv[c] = static_cast<T>((1 - momentum) * rv[c] + momentum * var * M / (M - 1));
          }
        } else {
          mean = rm[c];
          var = rv[c];
        }
        const double invstd = 1.0 / std::sqrt(var + eps);
        pmean[c] = static_cast<T>(mean);
        pinv[c] = static_cast<T>(invstd);
        // y = x * scale + shift
        const double scale = invstd * (pw ? pw[c] : 1.0);
        const T s = static_cast<T>(scale), t = static_cast<T>((pb ? pb[c] : 0.0) - mean * scale);
        for_channel_rows(g, c, [&](int64_t o, int64_t len) {
          for (int64_t i = 0; i < len; ++i) py[o + i] = px[o + i] * s + t;
        });
      }
    });
  });
  return r;
}

NormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                              const Tensor& save_invstd, bool training, NormNeeds needs) {
  CUTTLE_ROUTE_CUDA("batch_norm_backward",
                    cuda::batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training, needs, Tensor()),
                    grad_out, x, weight, save_mean, save_invstd);
  const char* op = "batch_norm_backward";
  cpu::require_cpu(op, grad_out, x, save_mean, save_invstd);
  CUTTLE_CHECK(x.dim() >= 2 && grad_out.shape() == x.shape(), op, ": grad_out ", shape_str(grad_out.shape()),
               " must match input ", shape_str(x.shape()));
  cpu::require_same_dtype(op, grad_out, x);
  const BnGeom g(x.shape());
  cpu::check_param(op, "weight", weight, x, g.C);
  cpu::check_param(op, "save_mean", save_mean, x, g.C);
  cpu::check_param(op, "save_invstd", save_invstd, x, g.C);
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype());
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({g.C}, x.dtype());
  if (needs[2]) r.bias = Tensor::empty({g.C}, x.dtype());
  const Tensor xc = x.contiguous(), gyc = grad_out.contiguous(), mc = save_mean.contiguous(),
               ic = save_invstd.contiguous(), wc = weight.defined() ? weight.contiguous() : Tensor();
  const double M = double(g.N * g.S);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    const T* pg = gyc.data<T>();
    const T* pw = cpu::data_or_null<T>(wc);
    const T* pm = mc.data<T>();
    const T* pi = ic.data<T>();
    T* gx = r.input.defined() ? r.input.data<T>() : nullptr;
    T* gw = r.weight.defined() ? r.weight.data<T>() : nullptr;
    T* gb = r.bias.defined() ? r.bias.data<T>() : nullptr;
    parallel_for(0, g.C, g.grain(), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const double mean = pm[c], invstd = pi[c], w = pw ? pw[c] : 1.0;
        double sum_g = 0, sum_gx = 0;  // sum(g), sum(g * (x - mean))
        for_channel_rows(g, c, [&](int64_t o, int64_t len) {
          sum_g += cpu::lane_sum(len, [&](int64_t i) { return pg[o + i]; });
          sum_gx += cpu::lane_sum(len, [&](int64_t i) { return pg[o + i] * (px[o + i] - mean); });
        });
        if (gw) gw[c] = static_cast<T>(sum_gx * invstd);
        if (gb) gb[c] = static_cast<T>(sum_g);
        if (!gx) continue;
        if (training) {
          // gx = w invstd (g - mean(g) - xhat mean(g xhat)), with xhat = (x - mean) invstd
          const double k = w * invstd, mg = sum_g / M, c2 = sum_gx * invstd * invstd / M;
          for_channel_rows(g, c, [&](int64_t o, int64_t len) {
            for (int64_t i = 0; i < len; ++i)
              gx[o + i] = static_cast<T>(k * (pg[o + i] - mg - (px[o + i] - mean) * c2));
          });
        } else {
          const T k = static_cast<T>(w * invstd);
          for_channel_rows(g, c, [&](int64_t o, int64_t len) {
            for (int64_t i = 0; i < len; ++i) gx[o + i] = pg[o + i] * k;
          });
        }
      }
    });
  });
  return r;
}

}  // namespace cuttle::engine
