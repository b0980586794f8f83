// Declares the element-wise op family: broadcasting binary arithmetic and comparisons, unary math
// and activations (with their fused derivatives), clamp, where, and in-place updates.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine {

enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };
enum class UnaryOp {
  neg, exp, log, sqrt, rsqrt, abs, sign, sin, cos, square, reciprocal, erf,
  relu, sigmoid, tanh, gelu, softplus, elu, log1p, expm1
};
const char* unary_op_name(UnaryOp op);

// Binary ops broadcast (numpy rules); both operands must have the same dtype.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
inline Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
inline Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
inline Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
// With a scalar second operand (converted to a's dtype).
Tensor binary_scalar(BinaryOp op, const Tensor& a, double s);
// s - a and s / a.
Tensor rsub_scalar(double s, const Tensor& a);
Tensor rdiv_scalar(double s, const Tensor& a);

// Comparisons return bool tensors.
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);
Tensor compare_scalar(CompareOp op, const Tensor& a, double s);

Tensor unary(UnaryOp op, const Tensor& x, double param = 1.0);  // param: ELU alpha
// grad * f'(x) for op, fused; `y` = f(x) is used where the derivative is cheaper from it
// (sigmoid, tanh, exp, sqrt, elu); pass the forward output.
Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param = 1.0);

Tensor clamp(const Tensor& x, double lo, double hi);
// grad where lo <= x <= hi, else 0.
Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi);
// cond ? a : b, broadcasting all three; cond is bool (or any dtype, non-zero = true).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// In place: a += alpha * b (b broadcasts to a), a *= s, a += t.
void add_(Tensor& a, const Tensor& b, double alpha = 1.0);
void mul_scalar_(Tensor& a, double s);
void add_scalar_(Tensor& a, double t);

}  // namespace cuttle::engine
