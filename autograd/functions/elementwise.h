// Declares the differentiable element-wise functions on Var (broadcasting arithmetic, unary math,
// activations, clamp, where) and the arithmetic operators.
#pragma once
#include "autograd/var.h"
#include "engine/ops/elementwise.h"

namespace cuttle::autograd {

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);
Var maximum(const Var& a, const Var& b);  // gradient to a where a >= b, else to b
Var minimum(const Var& a, const Var& b);  // gradient to a where a <= b, else to b
Var add(const Var& a, double s);
Var mul(const Var& a, double s);
Var pow(const Var& a, double exponent);
Var rsub(double s, const Var& a);  // s - a
Var rdiv(double s, const Var& a);  // s / a

Var unary(engine::UnaryOp op, const Var& x, double param = 1.0);
inline Var neg(const Var& x) { return unary(engine::UnaryOp::neg, x); }
inline Var exp(const Var& x) { return unary(engine::UnaryOp::exp, x); }
inline Var log(const Var& x) { return unary(engine::UnaryOp::log, x); }
inline Var sqrt(const Var& x) { return unary(engine::UnaryOp::sqrt, x); }
inline Var rsqrt(const Var& x) { return unary(engine::UnaryOp::rsqrt, x); }
inline Var abs(const Var& x) { return unary(engine::UnaryOp::abs, x); }
inline Var sin(const Var& x) { return unary(engine::UnaryOp::sin, x); }
inline Var cos(const Var& x) { return unary(engine::UnaryOp::cos, x); }
inline Var square(const Var& x) { return unary(engine::UnaryOp::square, x); }
inline Var reciprocal(const Var& x) { return unary(engine::UnaryOp::reciprocal, x); }
inline Var erf(const Var& x) { return unary(engine::UnaryOp::erf, x); }
inline Var relu(const Var& x) { return unary(engine::UnaryOp::relu, x); }
inline Var sigmoid(const Var& x) { return unary(engine::UnaryOp::sigmoid, x); }
inline Var tanh(const Var& x) { return unary(engine::UnaryOp::tanh, x); }
inline Var gelu(const Var& x) { return unary(engine::UnaryOp::gelu, x); }
inline Var softplus(const Var& x) { return unary(engine::UnaryOp::softplus, x); }
inline Var elu(const Var& x, double alpha = 1.0) { return unary(engine::UnaryOp::elu, x, alpha); }
inline Var log1p(const Var& x) { return unary(engine::UnaryOp::log1p, x); }
inline Var expm1(const Var& x) { return unary(engine::UnaryOp::expm1, x); }

Var clamp(const Var& x, double lo, double hi);
// cond (a bool tensor, no gradient) ? a : b
Var where(const Tensor& cond, const Var& a, const Var& b);

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator-(const Var& a) { return neg(a); }
inline Var operator+(const Var& a, double s) { return add(a, s); }
inline Var operator+(double s, const Var& a) { return add(a, s); }
inline Var operator-(const Var& a, double s) { return add(a, -s); }
inline Var operator-(double s, const Var& a) { return rsub(s, a); }
inline Var operator*(const Var& a, double s) { return mul(a, s); }
inline Var operator*(double s, const Var& a) { return mul(a, s); }
inline Var operator/(const Var& a, double s) { return mul(a, 1.0 / s); }
inline Var operator/(double s, const Var& a) { return rdiv(s, a); }

}  // namespace cuttle::autograd
