// Declares the differentiable softmax and log_softmax on Var, with the fused engine backward kernels.
#pragma once
#include "autograd/var.h"
#include "engine/ops/softmax.h"

namespace cuttle::autograd {

Var softmax(const Var& x, int64_t axis);
Var log_softmax(const Var& x, int64_t axis);

}  // namespace cuttle::autograd
