// CPU kernels of the element-wise op family (engine/ops/elementwise.h).
#include <cmath>
#include <type_traits>

#include "engine/cpu/cpu_only.h"
#include "engine/cpu/strided_loop.h"
#include "engine/cpu/unary_vectorized.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/op_constants.h"
#include "engine/scalar_ops.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/elementwise.h"
#include "engine/cuda/elementwise_extra.h"
#endif
#include "engine/ops/elementwise.h"

namespace cuttle::engine {

namespace {

// Runs out[i] = fn(a[i], b[i]) over broadcast operands; out is fresh and contiguous.
template <typename TO, typename TA, typename TB, typename Fn>
void binary_loop(Tensor& out, const Tensor& a, const Tensor& b, const Fn& fn) {
  const Shape& s = out.shape();
  std::array<Shape, 3> st{out.strides(), cpu::broadcast_strides(a.shape(), a.strides(), s),
                          cpu::broadcast_strides(b.shape(), b.strides(), s)};
  TO* po = out.data<TO>();
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  cpu::strided_loop<3>(s, st, [&](const std::array<int64_t, 3>& off, int64_t len, const std::array<int64_t, 3>& inc) {
    TO* o = po + off[0];
    const TA* x = pa + off[1];
    const TB* y = pb + off[2];
    if (inc[0] == 1 && inc[1] == 1 && inc[2] == 1) {
      for (int64_t i = 0; i < len; ++i) o[i] = fn(x[i], y[i]);
    } else if (inc[0] == 1 && inc[1] == 1 && inc[2] == 0) {
      const TB yv = *y;
      for (int64_t i = 0; i < len; ++i) o[i] = fn(x[i], yv);
    } else if (inc[0] == 1 && inc[1] == 0 && inc[2] == 1) {
      const TA xv = *x;
      for (int64_t i = 0; i < len; ++i) o[i] = fn(xv, y[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) o[i * inc[0]] = fn(x[i * inc[1]], y[i * inc[2]]);
    }
  });
}

template <typename TO, typename TA, typename Fn>
void unary_loop(Tensor& out, const Tensor& a, const Fn& fn) {
  const Shape& s = out.shape();
  std::array<Shape, 2> st{out.strides(), cpu::broadcast_strides(a.shape(), a.strides(), s)};
  TO* po = out.data<TO>();
  const TA* pa = a.data<TA>();
  cpu::strided_loop<2>(s, st, [&](const std::array<int64_t, 2>& off, int64_t len, const std::array<int64_t, 2>& inc) {
    TO* o = po + off[0];
    const TA* x = pa + off[1];
    if (inc[0] == 1 && inc[1] == 1) {
      for (int64_t i = 0; i < len; ++i) o[i] = fn(x[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) o[i * inc[0]] = fn(x[i * inc[1]]);
    }
  });
}

const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};
  return names[(int)op];
}

}  // namespace

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "square",
                                "reciprocal", "erf", "relu", "sigmoid", "tanh", "gelu", "softplus", "elu",
                                "log1p", "expm1"};
  return names[(int)op];
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  cpu::require_same_dtype(name, a, b);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  CUTTLE_ROUTE_CUDA(name, cuda::binary(op, a, b, out_shape), a, b);
  cpu::require_cpu(name, a, b);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  dispatch_numeric(a.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    with_binary_op(op, [&](auto op_const) {
      binary_loop<T, T, T>(out, a, b, [](T x, T y) { return scalar::binary<T>(decltype(op_const)::value, x, y); });
    });
  });
  return out;
}

namespace {
// A 0-d operand on the tensor's own device, so scalar ops route like tensor ops.
Tensor scalar_like(double s, const Tensor& a) { return Tensor::full({}, s, a.dtype(), a.device()); }

// a op s (s op a when scalar_first), one op: a contiguous GPU tensor takes s by value in the kernel,
// elsewhere s becomes a 0-d tensor of a's dtype (a fill, counted inside this op).
Tensor with_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first) {
  CUTTLE_CHECK(a.defined(), binary_op_name(op), ": undefined tensor");
  OpScope op_scope(binary_op_name(op));
#ifdef CUTTLE_WITH_CUDA
  if (a.device().is_cuda() && a.is_contiguous() && a.dtype() != DType::boolean) return cuda::binary_scalar(op, a, s, scalar_first);
#endif
  return scalar_first ? binary(op, scalar_like(s, a), a) : binary(op, a, scalar_like(s, a));
}

}  // namespace

Tensor binary_scalar(BinaryOp op, const Tensor& a, double s) { return with_scalar(op, a, s, false); }
Tensor rsub_scalar(double s, const Tensor& a) { return with_scalar(BinaryOp::sub, a, s, true); }
Tensor rdiv_scalar(double s, const Tensor& a) { return with_scalar(BinaryOp::div, a, s, true); }

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  cpu::require_same_dtype("compare", a, b);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), "compare");
  CUTTLE_ROUTE_CUDA("compare", cuda::compare(op, a, b, out_shape), a, b);
  cpu::require_cpu("compare", a, b);
  Tensor out = Tensor::empty(out_shape, DType::boolean);
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    binary_loop<bool, T, T>(out, a, b, [op](T x, T y) { return scalar::compare<T>(op, x, y); });
  });
  return out;
}

Tensor compare_scalar(CompareOp op, const Tensor& a, double s) {
  CUTTLE_CHECK(a.defined(), "compare: undefined tensor");
  OpScope op_scope("compare");
#ifdef CUTTLE_WITH_CUDA
  if (a.device().is_cuda() && a.is_contiguous() && a.dtype() != DType::boolean) return cuda::compare_scalar(op, a, s);
#endif
  return compare(op, a, scalar_like(s, a));
}

Tensor unary(UnaryOp op, const Tensor& x, double param) {
  const char* name = unary_op_name(op);
  CUTTLE_ROUTE_CUDA(name, cuda::unary(op, x, param), x);
  cpu::require_cpu(name, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (x.dtype() == DType::f32 && x.is_contiguous() &&
      cpu::unary_vectorized(op, x.data<float>(), out.data<float>(), x.numel(), (float)param))
    return out;
  if (op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::sign || op == UnaryOp::square ||
      op == UnaryOp::relu) {
    dispatch_numeric(x.dtype(), name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_floating_point_v<T>) {
        unary_loop<T, T>(out, x, [op](T v) { return scalar::unary<T>(op, v, T(0)); });
      } else {
        unary_loop<T, T>(out, x, [op](T v) -> T {
          switch (op) {
            case UnaryOp::neg: return static_cast<T>(-v);
            case UnaryOp::abs: return static_cast<T>(v < 0 ? -v : v);
            case UnaryOp::sign: return static_cast<T>((v > 0) - (v < 0));
            case UnaryOp::square: return static_cast<T>(v * v);
            default: return static_cast<T>(v > 0 ? v : 0);
          }
        });
      }
    });
    return out;
  }
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T p = static_cast<T>(param);
    unary_loop<T, T>(out, x, [op, p](T v) { return scalar::unary<T>(op, v, p); });
  });
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param) {
  const char* name = unary_op_name(op);
  CUTTLE_CHECK(grad.shape() == x.shape() && y.shape() == x.shape(), name, "_backward: shapes ",
               grad.str(), ", ", x.str(), ", ", y.str(), " differ");
  CUTTLE_ROUTE_CUDA(name, cuda::unary_backward(op, grad, x, y, param), grad, x, y);
  cpu::require_cpu(name, grad, x, y);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (x.dtype() == DType::f32 && x.is_contiguous() && y.is_contiguous() && grad.is_contiguous() &&
      y.dtype() == DType::f32 && grad.dtype() == DType::f32 &&
      cpu::unary_backward_vectorized(op, grad.data<float>(), x.data<float>(), y.data<float>(), out.data<float>(),
                                     x.numel()))
    return out;
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T p = static_cast<T>(param);
    const Tensor xc = x.contiguous(), yc = y.contiguous(), gc = grad.contiguous();
    const T* px = xc.data<T>();
    const T* py = yc.data<T>();
    const T* pg = gc.data<T>();
    T* po = out.data<T>();
    parallel_for(0, out.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) po[i] = pg[i] * scalar::unary_derivative<T>(op, px[i], py[i], p);
    });
  });
  return out;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  CUTTLE_CHECK(lo <= hi, "clamp: lower bound ", lo, " above upper bound ", hi);
  CUTTLE_ROUTE_CUDA("clamp", cuda::clamp(x, lo, hi), x);
  cpu::require_cpu("clamp", x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_numeric(x.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    unary_loop<T, T>(out, x, [l, h](T v) { return v < l ? l : (v > h ? h : v); });
  });
  return out;
}

Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi) {
  CUTTLE_CHECK(grad.defined() && x.defined(), "clamp_backward: an input tensor is undefined");
  cpu::require_same_dtype("clamp_backward", grad, x);
  CUTTLE_CHECK(broadcast_shapes(grad.shape(), x.shape(), "clamp_backward") == x.shape(), "clamp_backward: grad ",
               grad.str(), " does not broadcast to ", x.str());
  CUTTLE_ROUTE_CUDA("clamp_backward", cuda::clamp_backward(grad, x, lo, hi), grad, x);
  cpu::require_cpu("clamp_backward", grad, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "clamp_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    binary_loop<T, T, T>(out, grad, x, [l, h](T g, T v) { return (v >= l && v <= h) ? g : T(0); });
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CUTTLE_CHECK(cond.defined() && a.defined() && b.defined(), "where: an input tensor is undefined");
  cpu::require_same_dtype("where", a, b);
  const Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  CUTTLE_ROUTE_CUDA("where", cuda::where(cond, a, b, s), cond, a, b);
  cpu::require_cpu("where", cond, a, b);
  Tensor out = Tensor::empty(s, a.dtype());
  const Tensor c = cond.to(DType::boolean);
  std::array<Shape, 4> st{out.strides(), cpu::broadcast_strides(c.shape(), c.strides(), s),
                          cpu::broadcast_strides(a.shape(), a.strides(), s),
                          cpu::broadcast_strides(b.shape(), b.strides(), s)};
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data<T>();
    const bool* pc = c.data<bool>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    cpu::strided_loop<4>(s, st, [&](const std::array<int64_t, 4>& off, int64_t len, const std::array<int64_t, 4>& inc) {
      for (int64_t i = 0; i < len; ++i)
        po[off[0] + i * inc[0]] = pc[off[1] + i * inc[1]] ? pa[off[2] + i * inc[2]] : pb[off[3] + i * inc[3]];
    });
  });
  return out;
}

void add_(Tensor& a, const Tensor& b, double alpha) {
  CUTTLE_CHECK(a.defined() && b.defined(), "add_: an input tensor is undefined");
  cpu::require_same_dtype("add_", a, b);
  CUTTLE_CHECK(broadcast_shapes(a.shape(), b.shape(), "add_") == a.shape(), "add_: ", b.str(),
               " does not broadcast to ", a.str());
  CUTTLE_ROUTE_CUDA("add_", cuda::add_(a, b, alpha), a, b);
  cpu::require_cpu("add_", a, b);
  dispatch_numeric(a.dtype(), "add_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T al = static_cast<T>(alpha);
    binary_loop<T, T, T>(a, a, b, [al](T x, T y) { return static_cast<T>(x + al * y); });
  });
}

void mul_scalar_(Tensor& a, double s) {
  CUTTLE_ROUTE_CUDA("mul_scalar_", cuda::mul_scalar_(a, s), a);
  cpu::require_cpu("mul_scalar_", a);
  dispatch_numeric(a.dtype(), "mul_scalar_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T sv = static_cast<T>(s);
    unary_loop<T, T>(a, a, [sv](T x) { return static_cast<T>(x * sv); });
  });
}

void add_scalar_(Tensor& a, double t) {
  CUTTLE_ROUTE_CUDA("add_scalar_", cuda::add_scalar_(a, t), a);
  cpu::require_cpu("add_scalar_", a);
  dispatch_numeric(a.dtype(), "add_scalar_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T tv = static_cast<T>(t);
    unary_loop<T, T>(a, a, [tv](T x) { return static_cast<T>(x + tv); });
  });
}

}  // namespace cuttle::engine
