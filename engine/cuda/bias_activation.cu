// CUDA bias + activation (engine/cuda/bias_activation.h). Forward: one pass over [N*C rows, H*W] in
// 16-byte packs, the op a compile-time constant. Backward: one pass, a block per row, that writes
// grad * act'(x + b) and leaves the row's sum for the bias gradient (channel_finish_kernel of
// channel_kernels.cuh adds a channel's rows in a fixed order), so the gradient is not read twice.
#include "engine/cuda/bias_activation.h"
#include "engine/cuda/channel_kernels.cuh"
#include "engine/dispatch.h"
#include "engine/scalar_ops.h"

#include <algorithm>
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

// One block per row (n, c) of S values, V per thread-step in 16-byte packs: writes
// gx = g * act'(z, act(z)) with z = x + b[c] and leaves the row's sum in partials[row] (double, a fixed
// tree: deterministic). channel_finish_kernel then adds each channel's N row sums.
// Whether the derivative reads y = act(z) (as a member constant: the table is host constexpr).
template <UnaryOp Op>
struct ReadsY {
  static constexpr bool value = scalar::derivative_reads_y(Op);
};

template <typename T, UnaryOp Op, int V>
__global__ void bias_act_grad_rows(const T* g, const T* x, const T* b, T* gx, double* partials, int64_t rows,
                                   int64_t C, int64_t S, T p) {
  constexpr bool kReadsY = ReadsY<Op>::value;
  __shared__ double buf[kThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T bias = b[row % C];
    const Pack<T, V>* gr = reinterpret_cast<const Pack<T, V>*>(g + row * S);
    const Pack<T, V>* xr = reinterpret_cast<const Pack<T, V>*>(x + row * S);
    Pack<T, V>* out = reinterpret_cast<Pack<T, V>*>(gx + row * S);
    double acc = 0;
    for (int64_t j = threadIdx.x; j < S / V; j += blockDim.x) {
      const Pack<T, V> gv = gr[j], xv = xr[j];
      Pack<T, V> d;
#pragma unroll
      for (int k = 0; k < V; ++k) {
        const T z = xv.v[k] + bias;
        const T y = kReadsY ? scalar::unary<T>(Op, z, p) : T(0);
        d.v[k] = gv.v[k] * scalar::unary_derivative<T>(Op, z, y, p);
        acc += (double)d.v[k];
      }
      out[j] = d;
    }
    buf[threadIdx.x] = acc;
    block_tree_sum(buf);
    if (threadIdx.x == 0) partials[row] = buf[0];
    __syncthreads();
  }
}

template <typename T>
struct StoreSumFn {
  T* out;
  __device__ void operator()(int64_t c, const double* sums) const { out[c] = (T)sums[0]; }
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
  const int64_t rows = N * C;
  Tensor partials = Tensor::empty({rows}, DType::f64, x.device());
  cudaStream_t st = stream_of(x);
  dispatch_float(x.dtype(), "bias_activation_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = 16 / sizeof(T);
    const bool packed = S % V == 0 && aligned_to(gc.raw_data(), 16) && aligned_to(xc.raw_data(), 16) &&
                        aligned_to(out.x.raw_data(), 16);
    const unsigned grid = (unsigned)std::min<int64_t>(rows, int64_t(1) << 20);
    with_activation(op, [&](auto k) {
      constexpr UnaryOp kOp = decltype(k)::value;
      if (packed)
        bias_act_grad_rows<T, kOp, V><<<grid, kThreads, 0, st>>>(gc.data<T>(), xc.data<T>(), bc.data<T>(),
                                                                 out.x.data<T>(), partials.data<double>(), rows, C, S,
                                                                 (T)param);
      else
        bias_act_grad_rows<T, kOp, 1><<<grid, kThreads, 0, st>>>(gc.data<T>(), xc.data<T>(), bc.data<T>(),
                                                                 out.x.data<T>(), partials.data<double>(), rows, C, S,
                                                                 (T)param);
    });
    CUTTLE_CUDA_CHECK_LAUNCH("bias_activation_backward");
    if (need_bias) {
      channel_finish_kernel<1><<<(unsigned)std::min<int64_t>(C, 65535), kThreads, 0, st>>>(
          partials.data<double>(), C, N, 1, C, rows, StoreSumFn<T>{out.bias.data<T>()});
      CUTTLE_CUDA_CHECK_LAUNCH("bias_activation_backward (bias)");
    }
  });
  return out;
}

}  // namespace cuttle::engine::cuda
