// Defines with_binary_op and with_unary_op: they call a body with the element-wise op as a
// compile-time constant (std::integral_constant), so the per-element switch of scalar_ops.h folds
// away and the loops around it vectorise. Shared by the CPU and CUDA kernels.
#pragma once
#include <type_traits>

#include "engine/ops/elementwise.h"

namespace cuttle::engine {

template <typename Body>
void with_binary_op(BinaryOp op, const Body& body) {
  using B = BinaryOp;
  switch (op) {
    case B::add: return body(std::integral_constant<B, B::add>{});
    case B::sub: return body(std::integral_constant<B, B::sub>{});
    case B::mul: return body(std::integral_constant<B, B::mul>{});
    case B::div: return body(std::integral_constant<B, B::div>{});
    case B::pow: return body(std::integral_constant<B, B::pow>{});
    case B::maximum: return body(std::integral_constant<B, B::maximum>{});
    case B::minimum: return body(std::integral_constant<B, B::minimum>{});
  }
}

template <typename Body>
void with_unary_op(UnaryOp op, const Body& body) {
  using U = UnaryOp;
#define CUTTLE_UNARY_CASE(name) \
  case U::name: return body(std::integral_constant<U, U::name>{});
  switch (op) {
    CUTTLE_UNARY_CASE(neg) CUTTLE_UNARY_CASE(exp) CUTTLE_UNARY_CASE(log) CUTTLE_UNARY_CASE(sqrt)
    CUTTLE_UNARY_CASE(rsqrt) CUTTLE_UNARY_CASE(abs) CUTTLE_UNARY_CASE(sign) CUTTLE_UNARY_CASE(sin)
    CUTTLE_UNARY_CASE(cos) CUTTLE_UNARY_CASE(square) CUTTLE_UNARY_CASE(reciprocal) CUTTLE_UNARY_CASE(erf)
    CUTTLE_UNARY_CASE(relu) CUTTLE_UNARY_CASE(sigmoid) CUTTLE_UNARY_CASE(tanh) CUTTLE_UNARY_CASE(gelu)
    CUTTLE_UNARY_CASE(softplus) CUTTLE_UNARY_CASE(elu) CUTTLE_UNARY_CASE(log1p) CUTTLE_UNARY_CASE(expm1)
  }
#undef CUTTLE_UNARY_CASE
}

}  // namespace cuttle::engine
