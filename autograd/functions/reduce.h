// Declares the differentiable reductions on Var: sum, mean, amax, amin (gradient split evenly
// between ties, as torch.amax), var.
#pragma once
#include "autograd/var.h"
#include "engine/ops/reduce.h"

namespace cuttle::autograd {

using engine::Axes;

Var sum(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var mean(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var amax(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var amin(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var var(const Var& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);

}  // namespace cuttle::autograd
