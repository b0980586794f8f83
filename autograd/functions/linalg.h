// Declares the differentiable linear-algebra functions on Var: matmul (transpose flags, batched,
// broadcasting batch axes) and linear (x w^T + b), each with a GEMM-based backward.
#pragma once
#include "autograd/var.h"
#include "engine/ops/linalg.h"

namespace cuttle::autograd {

// See engine::matmul: op(a) x op(b) over the last two axes; gradients of broadcast batch axes are
// summed back to each operand's shape.
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);
// x[..., in] w[out, in]^T + bias[out]; bias may be an undefined Var.
Var linear(const Var& x, const Var& w, const Var& bias = Var());

}  // namespace cuttle::autograd
