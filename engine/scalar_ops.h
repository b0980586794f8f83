// Defines the scalar definitions of the element-wise ops (binary, comparison, unary and the unary
// derivatives) once, for both backends: the CPU kernels and the CUDA kernels call these same
// functions, so the two compute the same formulas (host/device qualified under nvcc).
#pragma once
#include <cmath>
#include <type_traits>

#include "engine/ops/elementwise.h"

#if defined(__CUDACC__)
#define CUTTLE_HOST_DEVICE __host__ __device__
#else
#define CUTTLE_HOST_DEVICE
#endif

namespace cuttle::engine::scalar {

// Math functions: CUDA's overloads in device code, the standard library's on the host.
#if defined(__CUDA_ARCH__)
#define CUTTLE_MATH(name) \
  template <typename T> __device__ T name(T x) { return ::name(x); }
#else
#define CUTTLE_MATH(name) \
  template <typename T> CUTTLE_HOST_DEVICE T name(T x) { return std::name(x); }
#endif
CUTTLE_MATH(exp)
CUTTLE_MATH(log)
CUTTLE_MATH(sqrt)
CUTTLE_MATH(sin)
CUTTLE_MATH(cos)
CUTTLE_MATH(erf)
CUTTLE_MATH(tanh)
CUTTLE_MATH(log1p)
CUTTLE_MATH(expm1)
CUTTLE_MATH(fabs)
#undef CUTTLE_MATH

template <typename T>
CUTTLE_HOST_DEVICE T power(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
#if defined(__CUDA_ARCH__)
    return ::pow(a, b);
#else
    return std::pow(a, b);
#endif
  } else {
#if defined(__CUDA_ARCH__)
    return static_cast<T>(::pow((double)a, (double)b));
#else
    return static_cast<T>(std::pow((double)a, (double)b));
#endif
  }
}

template <typename T>
CUTTLE_HOST_DEVICE T binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return power(a, b);
    case BinaryOp::maximum: return (a > b || a != a) ? a : b;  // a != a: NaN propagates from either side
    case BinaryOp::minimum: return (a < b || a != a) ? a : b;
  }
  return a;
}

template <typename T>
CUTTLE_HOST_DEVICE bool compare(CompareOp op, T a, T b) {
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
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

template <typename T>
CUTTLE_HOST_DEVICE T sigmoid(T x) {  // stable on both sides
  return x >= T(0) ? T(1) / (T(1) + exp(-x)) : exp(x) / (T(1) + exp(x));
}

template <typename T>
CUTTLE_HOST_DEVICE T unary(UnaryOp op, T x, T p) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::sqrt: return sqrt(x);
    case UnaryOp::rsqrt: return T(1) / sqrt(x);
    case UnaryOp::abs: return fabs(x);
    case UnaryOp::sign: return static_cast<T>((x > T(0)) - (x < T(0)));
    case UnaryOp::sin: return sin(x);
    case UnaryOp::cos: return cos(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::erf: return erf(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid: return sigmoid(x);
    case UnaryOp::tanh: return tanh(x);
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + erf(x * T(kSqrtHalf)));
    // log(1 + e^x) without overflow: max(x,0) + log1p(e^-|x|).
    case UnaryOp::softplus: return (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x)));
    case UnaryOp::elu: return x > T(0) ? x : p * expm1(x);
    case UnaryOp::log1p: return log1p(x);
    case UnaryOp::expm1: return expm1(x);
  }
  return x;
}

// d f(x) / dx, given x and y = f(x) (cheaper for sigmoid, tanh, exp, sqrt, elu).
template <typename T>
CUTTLE_HOST_DEVICE T unary_derivative(UnaryOp op, T x, T y, T p) {
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
    case UnaryOp::erf: return T(kTwoOverSqrtPi) * exp(-x * x);
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::gelu: return T(0.5) * (T(1) + erf(x * T(kSqrtHalf))) + x * T(kInvSqrt2Pi) * exp(T(-0.5) * x * x);
    case UnaryOp::softplus: return sigmoid(x);
    case UnaryOp::elu: return x > T(0) ? T(1) : y + p;
    case UnaryOp::log1p: return T(1) / (T(1) + x);
    case UnaryOp::expm1: return y + T(1);
  }
  return T(0);
}

}  // namespace cuttle::engine::scalar

namespace cuttle::engine::scalar {

// Which of x and y = f(x) unary_derivative reads: kernels skip loading the other (keep in step with
// unary_derivative above).
constexpr bool derivative_reads_x(UnaryOp op) {
  switch (op) {
    case UnaryOp::log: case UnaryOp::abs: case UnaryOp::sin: case UnaryOp::cos: case UnaryOp::square:
    case UnaryOp::erf: case UnaryOp::relu: case UnaryOp::gelu: case UnaryOp::softplus: case UnaryOp::elu:
    case UnaryOp::log1p:
      return true;
    default:
      return false;
  }
}
constexpr bool derivative_reads_y(UnaryOp op) {
  switch (op) {
    case UnaryOp::exp: case UnaryOp::sqrt: case UnaryOp::rsqrt: case UnaryOp::reciprocal: case UnaryOp::sigmoid:
    case UnaryOp::tanh: case UnaryOp::elu: case UnaryOp::expm1:
      return true;
    default:
      return false;
  }
}

}  // namespace cuttle::engine::scalar
