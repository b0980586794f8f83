// Declares the differentiable 2-D convolution on Var (fused backward kernels from engine/ops/conv.h).
#pragma once
#include "autograd/var.h"
#include "engine/ops/conv.h"

namespace cuttle::autograd {

// x [N,C,H,W], w [O,C/groups,kh,kw], bias [O] or an undefined Var (no bias).
Var conv2d(const Var& x, const Var& w, const Var& bias, const engine::Conv2dParams& p = {});

}  // namespace cuttle::autograd
