#include "engine/cpu/unary_vectorized.h"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "engine/parallel.h"

namespace cuttle::engine::cpu {

namespace {

using In = Eigen::Map<const Eigen::ArrayXf>;
using Out = Eigen::Map<Eigen::ArrayXf>;
constexpr float kSqrtHalf = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

bool has_forward(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: case UnaryOp::exp: case UnaryOp::log: case UnaryOp::sqrt: case UnaryOp::rsqrt:
    case UnaryOp::abs: case UnaryOp::square: case UnaryOp::erf: case UnaryOp::relu: case UnaryOp::sigmoid:
    case UnaryOp::tanh: case UnaryOp::gelu:
      return true;
    default:
      return false;
  }
}

void forward_chunk(UnaryOp op, const In& x, Out& y) {
  switch (op) {
    case UnaryOp::neg: y = -x; break;
    case UnaryOp::exp: y = x.exp(); break;
    case UnaryOp::log: y = x.log(); break;
    case UnaryOp::sqrt: y = x.sqrt(); break;
    case UnaryOp::rsqrt: y = x.rsqrt(); break;
    case UnaryOp::abs: y = x.abs(); break;
    case UnaryOp::square: y = x.square(); break;
    case UnaryOp::erf: y = x.erf(); break;
    case UnaryOp::relu: y = x.max(0.0f); break;
    case UnaryOp::sigmoid: y = x.logistic(); break;
    case UnaryOp::tanh: y = x.tanh(); break;
    case UnaryOp::gelu: y = 0.5f * x * (1.0f + (x * kSqrtHalf).erf()); break;
    default: break;
  }
}

}  // namespace

bool unary_vectorized(UnaryOp op, const float* x, float* out, int64_t n, float) {
  if (!has_forward(op)) return false;
  parallel_for(0, n, kParallelGrain, [&](int64_t b, int64_t e) {
    const In xs(x + b, e - b);
    Out ys(out + b, e - b);
    forward_chunk(op, xs, ys);
  });
  return true;
}

bool unary_backward_vectorized(UnaryOp op, const float* grad, const float* x, const float* y, float* out, int64_t n) {
  if (op != UnaryOp::gelu && op != UnaryOp::sigmoid && op != UnaryOp::tanh && op != UnaryOp::relu) return false;
  parallel_for(0, n, kParallelGrain, [&](int64_t b, int64_t e) {
    const In g(grad + b, e - b), xs(x + b, e - b), ys(y + b, e - b);
    Out o(out + b, e - b);
    switch (op) {
      case UnaryOp::gelu:
        o = g * (0.5f * (1.0f + (xs * kSqrtHalf).erf()) + xs * kInvSqrt2Pi * (-0.5f * xs.square()).exp());
        break;
      case UnaryOp::sigmoid: o = g * ys * (1.0f - ys); break;
      case UnaryOp::tanh: o = g * (1.0f - ys.square()); break;
      default: o = (xs > 0.0f).select(g, 0.0f); break;
    }
  });
  return true;
}

}  // namespace cuttle::engine::cpu
