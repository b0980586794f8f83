// CPU bias + activation (engine/ops/bias_activation.h): one row (n, c) at a time, the biased row kept
// in cache, through the same element functions as the broadcast add, unary() and unary_backward(), and
// the bias gradient summed as conv2d_backward_bias sums it. f64 equals the unfused path bit for bit;
// f32 to a few ulp (the vectorised functions may round a row's tail differently).
#include "engine/ops/bias_activation.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/lane_sum.h"
#include "engine/cpu/unary_vectorized.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/parallel.h"
#include "engine/scalar_ops.h"

#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/bias_activation.h"
#endif

namespace cuttle::engine {

namespace {

void check_operands(const char* op, const Tensor& x, const Tensor& bias, UnaryOp act) {
  CUTTLE_CHECK(is_fusable_activation(act), op, ": ", unary_op_name(act),
               " is not an activation (relu, gelu, sigmoid, tanh, softplus, elu)");
  CUTTLE_CHECK(x.defined() && bias.defined(), op, ": an input tensor is undefined");
  CUTTLE_CHECK(x.dim() == 4, op, ": x must be [N, C, H, W], got ", x.str());
  CUTTLE_CHECK(bias.dim() == 1 && bias.size(0) == x.size(1), op, ": bias ", bias.str(), " does not fit ", x.str());
  CUTTLE_CHECK(bias.dtype() == x.dtype(), op, ": dtype mismatch, ", x.str(), " vs ", bias.str());
}

// y = act(z) over one row through the element functions unary() uses (the vectorised f32 path where
// it has one).
template <typename T>
void activation_row(UnaryOp op, const T* z, T* y, int64_t n, T p) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::unary_vectorized(op, z, y, n, p)) return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = scalar::unary<T>(op, z[i], p);
}
template <typename T>
void activation_backward_row(UnaryOp op, const T* g, const T* z, const T* y, T* out, int64_t n, T p) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu::unary_backward_vectorized(op, g, z, y, out, n)) return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] * scalar::unary_derivative<T>(op, z[i], y[i], p);
}

}  // namespace

bool is_fusable_activation(UnaryOp op) {
  using U = UnaryOp;
  return op == U::relu || op == U::gelu || op == U::sigmoid || op == U::tanh || op == U::softplus || op == U::elu;
}

Tensor bias_activation(const Tensor& x, const Tensor& bias, UnaryOp op, double param) {
  check_operands("bias_activation", x, bias, op);
  CUTTLE_ROUTE_CUDA("bias_activation", cuda::bias_activation(x, bias, op, param), x, bias);
  cpu::require_cpu("bias_activation", x, bias);
  const Tensor xc = x.contiguous(), bc = bias.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const int64_t C = x.size(1), S = x.size(2) * x.size(3), rows = x.size(0) * C;
  dispatch_float(x.dtype(), "bias_activation", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = xc.data<T>();
    const T* pb = bc.data<T>();
    T* po = out.data<T>();
    const T p = (T)param;
    // A row at a time: the biased row stays in cache between the add and the activation.
    parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
      std::vector<T> z((size_t)S);
      for (int64_t r = r0; r < r1; ++r) {
        const T b = pb[r % C];
        for (int64_t i = 0; i < S; ++i) z[(size_t)i] = px[r * S + i] + b;
        activation_row<T>(op, z.data(), po + r * S, S, p);
      }
    });
  });
  return out;
}

BiasActivationGrads bias_activation_backward(const Tensor& grad, const Tensor& x, const Tensor& bias, UnaryOp op,
                                             double param, bool need_bias) {
  check_operands("bias_activation_backward", x, bias, op);
  CUTTLE_CHECK(grad.defined() && grad.shape() == x.shape(), "bias_activation_backward: grad ",
               grad.defined() ? grad.str() : "undefined", " does not match x ", x.str());
  CUTTLE_ROUTE_CUDA("bias_activation_backward", cuda::bias_activation_backward(grad, x, bias, op, param, need_bias),
                    grad, x, bias);
  cpu::require_cpu("bias_activation_backward", grad, x, bias);
  const Tensor gc = grad.contiguous(), xc = x.contiguous(), bc = bias.contiguous();
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), rows = N * C;
  BiasActivationGrads out;
  out.x = Tensor::empty(x.shape(), x.dtype());
  if (need_bias) out.bias = Tensor::empty({C}, x.dtype());
  dispatch_float(x.dtype(), "bias_activation_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gc.data<T>();
    const T* px = xc.data<T>();
    const T* pb = bc.data<T>();
    T* po = out.x.data<T>();
    const T p = (T)param;
    std::vector<double> row_sums(need_bias ? (size_t)rows : 0);
    // Per row: recompute z = x + b and y = act(z), write grad * act'(z), and sum the row in double.
    parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
      std::vector<T> z((size_t)S), y((size_t)S);
      for (int64_t r = r0; r < r1; ++r) {
        const T b = pb[r % C];
        for (int64_t i = 0; i < S; ++i) z[(size_t)i] = px[r * S + i] + b;
        activation_row<T>(op, z.data(), y.data(), S, p);
        T* gx = po + r * S;
        activation_backward_row<T>(op, pg + r * S, z.data(), y.data(), gx, S, p);
        if (need_bias) row_sums[(size_t)r] = cpu::lane_sum(S, [&](int64_t i) { return gx[i]; });
      }
    });
    // Each channel's rows added in sample order, as conv2d_backward_bias does.
    if (need_bias) {
      T* pgb = out.bias.data<T>();
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) acc += row_sums[(size_t)(n * C + c)];
        pgb[c] = (T)acc;
      }
    }
  });
  return out;
}

}  // namespace cuttle::engine
