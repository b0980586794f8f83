// CUDA bias + activation (engine/cuda/bias_activation.h). Forward: one pass over [N*C rows, H*W] in
// 16-byte packs, the op a compile-time constant. Backward: one pass that writes grad * act'(x + b)
// and folds it into the deterministic per-channel partial sums of the bias gradient
// (channel_kernels.cuh), so the gradient is not read a second time.
#include "engine/cuda/bias_activation.h"
#include "engine/cuda/channel_kernels.cuh"
#include "engine/dispatch.h"
#include "engine/scalar_ops.h"

#include <type_traits>

namespace cuttle::engine::cuda {

namespace {

template <typename T, UnaryOp Op, int V>
__global__ void bias_act_kernel(T* y, const T* x, const T* b, int64_t rows, int64_t C, int64_t S, T p) {
  CUTTLE_ROW_LOOP(row, s, rows, S / V) {
    const T bias = b[row % C];
    Pack<T, V> v = reinterpret_cast<const Pack<T, V>*>(x + row * S)[s];
#pragma unroll
    for (int k = 0; k < V; ++k) v.v[k] = scalar::unary<T>(Op, v.v[k] + bias, p);
    reinterpret_cast<Pack<T, V>*>(y + row * S)[s] = v;
  }
}

// Per value: gx = g * act'(z, act(z)) with z = x + b, stored, and added to the channel's sum.
template <typename T, UnaryOp Op>
struct BiasActGradFn {
  const T* g;
  const T* x;
  const T* b;
  T* gx;
  T p;
  static constexpr bool kReadsY = scalar::derivative_reads_y(Op);
  __device__ void operator()(int64_t c, int64_t, int64_t, int64_t i, double* acc) const {
    const T z = x[i] + b[c];
    const T y = kReadsY ? scalar::unary<T>(Op, z, p) : T(0);
    const T d = g[i] * scalar::unary_derivative<T>(Op, z, y, p);
    gx[i] = d;
    acc[0] += (double)d;
  }
};
template <typename T>
struct StoreSumFn {
  T* out;  // null: the bias gradient was not asked for
  __device__ void operator()(int64_t c, const double* sums) const {
    if (out) out[c] = (T)sums[0];
  }
};

// The activations bias_activation takes (checked by the engine op), as a compile-time constant.
template <typename Body>
void with_activation(UnaryOp op, const Body& body) {
  using U = UnaryOp;
  switch (op) {
    case U::relu: return body(std::integral_constant<U, U::relu>{});
    case U::gelu: return body(std::integral_constant<U, U::gelu>{});
    case U::sigmoid: return body(std::integral_constant<U, U::sigmoid>{});
    case U::tanh: return body(std::integral_constant<U, U::tanh>{});
    case U::softplus: return body(std::integral_constant<U, U::softplus>{});
    case U::elu: return body(std::integral_constant<U, U::elu>{});
    default: CUTTLE_FAIL("bias_activation: ", unary_op_name(op), " is not an activation");
  }
}

}  // namespace

Tensor bias_activation(const Tensor& x, const Tensor& bias, UnaryOp op, double param) {
  const Tensor xc = x.contiguous(), bc = bias.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  DeviceGuard guard(x.device().index);
  const int64_t C = x.size(1), S = x.size(2) * x.size(3), rows = x.size(0) * C;
  dispatch_float(x.dtype(), "bias_activation", [&](auto tag) {
    using T = typename decltype(tag)::type;
    with_activation(op, [&](auto k) {
      launch_row_packs<T>(rows, S, {xc.raw_data(), y.raw_data()}, [&](auto pack, const RowGrid& g) {
        bias_act_kernel<T, decltype(k)::value, decltype(pack)::value><<<g.grid, g.block, 0, stream_of(x)>>>(
            y.data<T>(), xc.data<T>(), bc.data<T>(), rows, C, S, (T)param);
      });
    });
    CUTTLE_CUDA_CHECK_LAUNCH("bias_activation");
  });
  return y;
}

BiasActivationGrads bias_activation_backward(const Tensor& grad, const Tensor& x, const Tensor& bias, UnaryOp op,
                                             double param, bool need_bias) {
  const Tensor gc = grad.contiguous(), xc = x.contiguous(), bc = bias.contiguous();
  BiasActivationGrads out;
  out.x = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3);
  if (need_bias) out.bias = Tensor::empty({C}, x.dtype(), x.device());
  if (C == 0) return out;
  DeviceGuard guard(x.device().index);
  if (N * S == 0) {
    if (need_bias) out.bias.zero_();
    return out;
  }
  dispatch_float(x.dtype(), "bias_activation_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    with_activation(op, [&](auto k) {
      constexpr UnaryOp kOp = decltype(k)::value;
      channel_reduce<1>(ChannelPlan(N, C, S),
                        BiasActGradFn<T, kOp>{gc.data<T>(), xc.data<T>(), bc.data<T>(), out.x.data<T>(), (T)param},
                        StoreSumFn<T>{need_bias ? out.bias.data<T>() : nullptr}, x.device(), stream_of(x),
                        "bias_activation_backward");
    });
  });
  return out;
}

}  // namespace cuttle::engine::cuda
