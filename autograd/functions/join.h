// Declares the differentiable joining functions on Var: concat, split and chunk (several outputs
// from one node), stack, and pad (constant, reflect, replicate).
#pragma once
#include <vector>

#include "autograd/var.h"
#include "engine/ops/join.h"

namespace cuttle::autograd {

Var concat(const std::vector<Var>& xs, int64_t axis);
std::vector<Var> split(const Var& x, const std::vector<int64_t>& sizes, int64_t axis);
std::vector<Var> chunk(const Var& x, int64_t n, int64_t axis);
Var stack(const std::vector<Var>& xs, int64_t axis);
Var pad(const Var& x, const std::vector<int64_t>& pads, engine::PadMode mode = engine::PadMode::constant,
        double value = 0.0);

}  // namespace cuttle::autograd
