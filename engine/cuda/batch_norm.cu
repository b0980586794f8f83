// CUDA batch normalisation (engine/cuda/norm.h). Training statistics: one deterministic per-channel
// reduction (channel_kernels.cuh) of sums shifted by the channel's first value, in double (shifting
// keeps E[d^2] - E[d]^2 free of cancellation); then one pass writes y = x * scale + shift (and the ReLU
// when fused). Backward: one reduction for sum(g) and sum(g (x - mean)), one pass for the input
// gradient; the fused ReLU masks g by the saved output inside both.
#include <cmath>

#include "engine/cuda/channel_kernels.cuh"
#include "engine/cuda/norm.h"
#include "engine/cuda/norm_checks.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

// Writes save_mean, save_invstd and the per-channel affine map y = x * coef[c] + coef[C + c], exactly
// as the CPU kernel rounds them.
template <typename T>
__device__ void bn_coefficients(int64_t c, int64_t C, double mean, double var, double eps, const T* w, const T* b,
                                T* mean_out, T* invstd_out, T* coef) {
  const double invstd = 1.0 / sqrt(var + eps);
  mean_out[c] = (T)mean;
  invstd_out[c] = (T)invstd;
  const double scale = invstd * (w ? (double)w[c] : 1.0);
  coef[c] = (T)scale;
  coef[C + c] = (T)((b ? (double)b[c] : 0.0) - mean * scale);
}

template <typename T>
struct StatsFn {
  const T* x;
  int64_t S;
  __device__ void operator()(int64_t c, int64_t, int64_t, int64_t i, double* acc) const {
    const double d = (double)x[i] - (double)x[c * S];  // x[c * S]: the channel's first value (n = 0)
    acc[0] += d;
    acc[1] += d * d;
  }
};

template <typename T>
struct TrainFin {
  const T* x;
  const T* w;
  const T* b;
  T* rm;
  T* rv;
  const T* rm_shift;  // may be null
  T* mean_out;
  T* invstd_out;
  T* coef;
  int64_t C, S;
  double M, momentum, eps;
  __device__ void operator()(int64_t c, const double* sums) const {
    const double d = sums[0] / M;
    const double mean = (double)x[c * S] + d;
    double var = sums[1] / M - d * d;
    if (var < 0) var = 0;
    if (rm) {
      rm[c] = (T)((1 - momentum) * (double)rm[c] + momentum * (mean + (rm_shift ? (double)rm_shift[c] : 0.0)));
      rv[c] = (T)((1 - momentum) * (double)rv[c] + momentum * var * M / (M - 1));
    }
    bn_coefficients<T>(c, C, mean, var, eps, w, b, mean_out, invstd_out, coef);
  }
};

template <typename T>
__global__ void eval_coef_kernel(const T* rm, const T* rv, const T* w, const T* b, T* mean_out, T* invstd_out, T* coef,
                                 int64_t C, double eps) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x)
    bn_coefficients<T>(c, C, (double)rm[c], (double)rv[c], eps, w, b, mean_out, invstd_out, coef);
}

// y = x * coef[c] + coef[C + c] (then the ReLU), V values per thread (rows of S/V packs) when every
// row starts on a pack boundary.
template <typename T, bool Relu, int V>
__global__ void apply_kernel(const T* x, const T* coef, T* y, int64_t rows, int64_t C, int64_t S) {
  const int64_t packs = S / V;
  CUTTLE_ROW_LOOP(row, s, rows, packs) {
    const int64_t c = row % C;
    const T a = coef[c], b = coef[C + c];
    Pack<T, V> v = reinterpret_cast<const Pack<T, V>*>(x + row * S)[s];
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const T o = v.v[k] * a + b;
      v.v[k] = Relu ? (o > T(0) ? o : T(0)) : o;
    }
    reinterpret_cast<Pack<T, V>*>(y + row * S)[s] = v;
  }
}

template <typename T, bool Relu>
void launch_apply(const T* x, const T* coef, T* y, int64_t rows, int64_t C, int64_t S, cudaStream_t st) {
  launch_row_packs<T>(rows, S, {x, y}, [&](auto pack, const RowGrid& rg) {
    apply_kernel<T, Relu, decltype(pack)::value><<<rg.grid, rg.block, 0, st>>>(x, coef, y, rows, C, S);
  });
}

// The gradient reaching batch norm: g, or g where the fused ReLU's output is positive.
template <typename T>
__device__ inline double masked_grad(const T* g, const T* y, int64_t i) {
  return (y && !(y[i] > T(0))) ? 0.0 : (double)g[i];
}

template <typename T>
struct GradSumsFn {
  const T* g;
  const T* x;
  const T* y;
  const T* mean;
  __device__ void operator()(int64_t c, int64_t, int64_t, int64_t i, double* acc) const {
    const double gv = masked_grad(g, y, i);
    acc[0] += gv;
    acc[1] += gv * ((double)x[i] - (double)mean[c]);
  }
};

// coef [3C] in double: k = w invstd, mean(g), sum(g (x - mean)) invstd^2 / M.
template <typename T>
struct GradFin {
  const T* w;
  const T* invstd;
  T* gw;
  T* gb;
  double* coef;
  int64_t C;
  double M;
  __device__ void operator()(int64_t c, const double* sums) const {
    const double is = (double)invstd[c];
    if (gw) gw[c] = (T)(sums[1] * is);
    if (gb) gb[c] = (T)sums[0];
    coef[c] = (w ? (double)w[c] : 1.0) * is;
    coef[C + c] = sums[0] / M;
    coef[2 * C + c] = sums[1] * is * is / M;
  }
};

template <typename T>
__global__ void eval_grad_coef_kernel(const T* w, const T* invstd, double* coef, int64_t C) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x)
    coef[c] = (w ? (double)w[c] : 1.0) * (double)invstd[c];
}

template <typename T, bool Training>
__global__ void grad_input_kernel(const T* g, const T* x, const T* y, const T* mean, const double* coef, T* gx,
                                  int64_t rows, int64_t C, int64_t S) {
  CUTTLE_ROW_LOOP(row, s, rows, S) {
    const int64_t c = row % C, i = row * S + s;
    if (Training) {
      const double gv = masked_grad(g, y, i);
      gx[i] = (T)(coef[c] * (gv - coef[C + c] - ((double)x[i] - (double)mean[c]) * coef[2 * C + c]));
    } else {
      const T gv = (y && !(y[i] > T(0))) ? T(0) : g[i];
      gx[i] = gv * (T)coef[c];
    }
  }
}

struct NcsShape {
  int64_t N, C, S;
  explicit NcsShape(const Shape& x) : N(x[0]), C(x[1]), S(1) {
    for (size_t d = 2; d < x.size(); ++d) S *= x[d];
  }
};

}  // namespace

BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                           Tensor running_var, bool training, double momentum, double eps, bool relu,
                           const Tensor& running_mean_shift) {
  const char* op = relu ? "batch_norm_relu" : "batch_norm";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() >= 2, op, ": input must be [N, C, ...], got ", shape_str(x.shape()));
  const NcsShape g(x.shape());
  check_norm_param(op, "weight", weight, x, g.C);
  check_norm_param(op, "bias", bias, x, g.C);
  check_norm_param(op, "running_mean", running_mean, x, g.C);
  check_norm_param(op, "running_var", running_var, x, g.C);
  CUTTLE_CHECK(running_mean.defined() == running_var.defined(), op, ": give both running stats or neither");
  CUTTLE_CHECK(!running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()), op,
               ": running stats must be contiguous (they are updated in place)");
  CUTTLE_CHECK(training || running_mean.defined(), op, ": eval mode needs running_mean and running_var");
  engine::check_running_mean_shift(op, running_mean_shift, running_mean, training, x, g.C);
  const int64_t M = g.N * g.S;
  CUTTLE_CHECK(!training || M > 1, op, ": training needs more than one value per channel, got input ",
               shape_str(x.shape()));
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  BatchNormResult r{Tensor::empty(x.shape(), x.dtype(), dev), Tensor::empty({g.C}, x.dtype(), dev),
                    Tensor::empty({g.C}, x.dtype(), dev)};
  if (g.C == 0) return r;
  const Tensor xc = x.contiguous(), wc = contiguous_or_none(weight), bc = contiguous_or_none(bias),
               shift_c = contiguous_or_none(running_mean_shift);
  cudaStream_t st = stream_of(x);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor coef = Tensor::empty({2 * g.C}, x.dtype(), dev);
    const T* px = xc.data<T>();
    if (training) {
      TrainFin<T> fin{px, ptr_or_null<T>(wc), ptr_or_null<T>(bc), ptr_or_null<T>(running_mean),
                      ptr_or_null<T>(running_var), ptr_or_null<T>(shift_c), r.save_mean.data<T>(),
                      r.save_invstd.data<T>(), coef.data<T>(), g.C, g.S, (double)M, momentum, eps};
      channel_reduce<2>(ChannelPlan(g.N, g.C, g.S), StatsFn<T>{px, g.S}, fin, dev, st, op);
    } else {
      eval_coef_kernel<T><<<blocks_for(g.C), kThreads, 0, st>>>(
          running_mean.data<T>(), running_var.data<T>(), ptr_or_null<T>(wc), ptr_or_null<T>(bc), r.save_mean.data<T>(),
          r.save_invstd.data<T>(), coef.data<T>(), g.C, eps);
      CUTTLE_CUDA_CHECK_LAUNCH(op);
    }
    if (M == 0) return;
    if (relu) launch_apply<T, true>(px, coef.data<T>(), r.output.data<T>(), g.N * g.C, g.C, g.S, st);
    else launch_apply<T, false>(px, coef.data<T>(), r.output.data<T>(), g.N * g.C, g.C, g.S, st);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

NormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                              const Tensor& save_invstd, bool training, NormNeeds needs, const Tensor& relu_output) {
  const char* op = relu_output.defined() ? "batch_norm_relu_backward" : "batch_norm_backward";
  check_norm_input(op, x);
  CUTTLE_CHECK(x.dim() >= 2, op, ": input must be [N, C, ...], got ", shape_str(x.shape()));
  check_grad_like(op, grad_out, x);
  if (relu_output.defined()) check_grad_like(op, relu_output, x);
  const NcsShape g(x.shape());
  check_norm_param(op, "weight", weight, x, g.C);
  CUTTLE_CHECK(save_mean.defined() && save_invstd.defined(), op, ": the saved statistics are undefined");
  check_norm_param(op, "save_mean", save_mean, x, g.C);
  check_norm_param(op, "save_invstd", save_invstd, x, g.C);
  const Device dev = x.device();
  DeviceGuard guard(dev.index);
  NormGrads r;
  if (needs[0]) r.input = Tensor::empty(x.shape(), x.dtype(), dev);
  if (needs[1] && weight.defined()) r.weight = Tensor::empty({g.C}, x.dtype(), dev);
  if (needs[2]) r.bias = Tensor::empty({g.C}, x.dtype(), dev);
  const int64_t M = g.N * g.S;
  if (g.C == 0) return r;
  if (M == 0) {  // no values: zero parameter gradients, an empty input gradient
    if (r.weight.defined()) r.weight.zero_();
    if (r.bias.defined()) r.bias.zero_();
    return r;
  }
  const Tensor xc = x.contiguous(), gc = grad_out.contiguous(), yc = contiguous_or_none(relu_output),
               mc = save_mean.contiguous(), ic = save_invstd.contiguous(), wc = contiguous_or_none(weight);
  cudaStream_t st = stream_of(x);
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor coef = Tensor::empty({3 * g.C}, DType::f64, dev);
    const T* py = ptr_or_null<T>(yc);
    if ((training && r.input.defined()) || r.weight.defined() || r.bias.defined()) {
      GradFin<T> fin{ptr_or_null<T>(wc), ic.data<T>(), ptr_or_null<T>(r.weight), ptr_or_null<T>(r.bias),
                     coef.data<double>(), g.C, (double)M};
      channel_reduce<2>(ChannelPlan(g.N, g.C, g.S), GradSumsFn<T>{gc.data<T>(), xc.data<T>(), py, mc.data<T>()}, fin,
                        dev, st, op);
    } else {
      eval_grad_coef_kernel<T><<<blocks_for(g.C), kThreads, 0, st>>>(ptr_or_null<T>(wc), ic.data<T>(),
                                                                     coef.data<double>(), g.C);
      CUTTLE_CUDA_CHECK_LAUNCH(op);
    }
    if (!r.input.defined()) return;
    const RowGrid rg(g.N * g.C, g.S);
    if (training)
      grad_input_kernel<T, true><<<rg.grid, rg.block, 0, st>>>(gc.data<T>(), xc.data<T>(), py, mc.data<T>(),
                                                               coef.data<double>(), r.input.data<T>(), g.N * g.C, g.C, g.S);
    else
      grad_input_kernel<T, false><<<rg.grid, rg.block, 0, st>>>(gc.data<T>(), xc.data<T>(), py, mc.data<T>(),
                                                                coef.data<double>(), r.input.data<T>(), g.N * g.C, g.C,
                                                                g.S);
    CUTTLE_CUDA_CHECK_LAUNCH(op);
  });
  return r;
}

}  // namespace cuttle::engine::cuda
