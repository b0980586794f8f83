// CUDA kernels of the element-wise op family: one grid-stride kernel per (op family, dtype) with the
// op chosen inside by a uniform switch, a contiguous fast path and a strided/broadcast path.
#include "engine/cuda/elementwise.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T>
__device__ T binary_value(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return static_cast<T>(::pow((double)a, (double)b));
    case BinaryOp::maximum: return (a > b || a != a) ? a : b;
    case BinaryOp::minimum: return (a < b || a != a) ? a : b;
  }
  return a;
}
template <>
__device__ float binary_value<float>(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return powf(a, b);
    case BinaryOp::maximum: return (a > b || a != a) ? a : b;
    case BinaryOp::minimum: return (a < b || a != a) ? a : b;
  }
  return a;
}

template <typename T>
__device__ bool compare_value(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::eq: return a == b;
    case CompareOp::ne: return a != b;
    case CompareOp::lt: return a < b;
    case CompareOp::le: return a <= b;
    case CompareOp::gt: return a > b;
    case CompareOp::ge: return a >= b;
  }
  return false;
}

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename T>
__device__ T sigmoid_of(T x) {
  return x >= T(0) ? T(1) / (T(1) + exp(-x)) : exp(x) / (T(1) + exp(x));
}

template <typename T>
__device__ T unary_value(UnaryOp op, T x, T p) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::sqrt: return sqrt(x);
    case UnaryOp::rsqrt: return rsqrt(x);
    case UnaryOp::abs: return fabs(x);
    case UnaryOp::sign: return static_cast<T>((x > T(0)) - (x < T(0)));
    case UnaryOp::sin: return sin(x);
    case UnaryOp::cos: return cos(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::erf: return erf(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid: return sigmoid_of(x);
    case UnaryOp::tanh: return tanh(x);
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + erf(x * T(kSqrtHalf)));
    case UnaryOp::softplus: return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
    case UnaryOp::elu: return x > T(0) ? x : p * expm1(x);
    case UnaryOp::log1p: return log1p(x);
    case UnaryOp::expm1: return expm1(x);
  }
  return x;
}

template <typename T>
__device__ T unary_derivative(UnaryOp op, T x, T y, T p) {
  switch (op) {
    case UnaryOp::neg: return T(-1);
    case UnaryOp::exp: return y;
    case UnaryOp::log: return T(1) / x;
    case UnaryOp::sqrt: return T(0.5) / y;
    case UnaryOp::rsqrt: return T(-0.5) * y * y * y;
    case UnaryOp::abs: return static_cast<T>((x > T(0)) - (x < T(0)));
    case UnaryOp::sign: return T(0);
    case UnaryOp::sin: return cos(x);
    case UnaryOp::cos: return -sin(x);
    case UnaryOp::square: return T(2) * x;
    case UnaryOp::reciprocal: return -y * y;
    case UnaryOp::erf: return T(1.1283791670955126) * exp(-x * x);
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::gelu:
      return T(0.5) * (T(1) + erf(x * T(kSqrtHalf))) + x * T(kInvSqrt2Pi) * exp(T(-0.5) * x * x);
    case UnaryOp::softplus: return sigmoid_of(x);
    case UnaryOp::elu: return x > T(0) ? T(1) : y + p;
    case UnaryOp::log1p: return T(1) / (T(1) + x);
    case UnaryOp::expm1: return y + T(1);
  }
  return T(0);
}

#define CUTTLE_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

template <typename TO, typename T, typename Fn>
__global__ void binary_contiguous(TO* out, const T* a, const T* b, int64_t n, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) out[i] = fn(a[i], b[i]);
}

template <typename TO, typename T, typename Fn>
__global__ void binary_strided(TO* out, const T* a, const T* b, int64_t n, StridedIndex<3> idx, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) {
    int64_t off[3];
    idx.offsets(i, off);
    out[off[0]] = fn(a[off[1]], b[off[2]]);
  }
}

template <typename T, typename Fn>
__global__ void unary_strided(T* out, const T* x, int64_t n, StridedIndex<2> idx, Fn fn) {
  CUTTLE_GRID_LOOP(i, n) {
    int64_t off[2];
    idx.offsets(i, off);
    out[off[0]] = fn(x[off[1]]);
  }
}

template <typename T>
__global__ void unary_contiguous(T* out, const T* x, int64_t n, UnaryOp op, T p) {
  CUTTLE_GRID_LOOP(i, n) out[i] = unary_value<T>(op, x[i], p);
}

template <typename T>
__global__ void unary_backward_contiguous(T* out, const T* g, const T* x, const T* y, int64_t n, UnaryOp op, T p) {
  CUTTLE_GRID_LOOP(i, n) out[i] = g[i] * unary_derivative<T>(op, x[i], y[i], p);
}

// out[...] = fn(a, b) over broadcast operands; out is fresh and contiguous.
template <typename TO, typename T, typename Fn>
void launch_binary(Tensor& out, const Tensor& a, const Tensor& b, Fn fn, const char* name) {
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  TO* po = out.data<TO>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == out.shape() && b.shape() == out.shape()) {
    binary_contiguous<TO, T><<<blocks_for(n), kThreads, 0, s>>>(po, pa, pb, n, fn);
  } else {
    const Shape so = out.strides(), sa = broadcast_strides_to(a, out.shape()), sb = broadcast_strides_to(b, out.shape());
    const Shape* st[3] = {&so, &sa, &sb};
    binary_strided<TO, T><<<blocks_for(n), kThreads, 0, s>>>(po, pa, pb, n, make_strided_index<3>(out.shape(), st), fn);
  }
  CUTTLE_CUDA_CHECK_LAUNCH(name);
}

template <typename T>
struct BinaryFn {
  BinaryOp op;
  __device__ T operator()(T a, T b) const { return binary_value<T>(op, a, b); }
};
template <typename T>
struct CompareFn {
  CompareOp op;
  __device__ bool operator()(T a, T b) const { return compare_value<T>(op, a, b); }
};
template <typename T>
struct UnaryFn {
  UnaryOp op;
  T p;
  __device__ T operator()(T x) const { return unary_value<T>(op, x, p); }
};

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  dispatch_numeric(a.dtype(), "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_binary<T, T>(out, a, b, BinaryFn<T>{op}, "binary");
  });
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::boolean, a.device());
  dispatch_numeric(a.dtype(), "compare", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_binary<bool, T>(out, a, b, CompareFn<T>{op}, "compare");
  });
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x, double param) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  cudaStream_t s = stream_of(x);
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (x.is_contiguous()) {
      unary_contiguous<T><<<blocks_for(n), kThreads, 0, s>>>(out.data<T>(), x.data<T>(), n, op, (T)param);
    } else {
      const Shape so = out.strides(), sx = x.strides();
      const Shape* st[2] = {&so, &sx};
      unary_strided<T><<<blocks_for(n), kThreads, 0, s>>>(out.data<T>(), x.data<T>(), n,
                                                           make_strided_index<2>(x.shape(), st), UnaryFn<T>{op, (T)param});
    }
    CUTTLE_CUDA_CHECK_LAUNCH(unary_op_name(op));
  });
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param) {
  const Tensor gc = grad.contiguous(), xc = x.contiguous(), yc = y.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return out;
  DeviceGuard guard(x.device().index);
  dispatch_float(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    unary_backward_contiguous<T><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(out.data<T>(), gc.data<T>(), xc.data<T>(),
                                                                              yc.data<T>(), n, op, (T)param);
    CUTTLE_CUDA_CHECK_LAUNCH(unary_op_name(op));
  });
  return out;
}

}  // namespace cuttle::engine::cuda
