// Declares the differentiable mixture-of-experts dispatch and combination (engine/ops/moe_combine.h):
// the gradients flow to the layer's input, to every expert output and to the combination weights (the
// router learns from them).
#pragma once
#include <vector>

#include "autograd/var.h"

namespace cuttle::autograd {

// out[b] = sum over sample b's table entries (b, i, p, j) of weights.flat[j] * ys[i][p]; see
// engine::moe_combine for the table.
Var moe_combine(const std::vector<Var>& ys, const Var& weights, const Tensor& table, int64_t B);
// The experts' inputs: output i holds rows[i] rows, row p = x[b] for each entry (b, i, p, j); the
// gradient of x sums each sample's rows' gradients (engine::moe_dispatch).
std::vector<Var> moe_dispatch(const Var& x, const Tensor& table, const std::vector<int64_t>& rows);

}  // namespace cuttle::autograd
