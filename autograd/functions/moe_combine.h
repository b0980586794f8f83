// Declares the differentiable mixture-of-experts combination (engine/ops/moe_combine.h): the
// gradients flow to every expert output and to the combination weights (the router learns from them).
#pragma once
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

// out[b] = sum over sample b's table entries (b, i, p, j) of weights.flat[j] * ys[i][p]; see
// engine::moe_combine for the table.
Var moe_combine(const std::vector<Var>& ys, const Var& weights, const Tensor& table, int64_t B);

}  // namespace cuttle::autograd
