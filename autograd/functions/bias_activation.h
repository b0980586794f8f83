// Declares the differentiable fused per-channel bias and activation act(x + bias[c]) on Var
// (engine/ops/bias_activation.h): a convolution without bias followed by this equals the convolution
// with bias followed by the activation, in one pass instead of two each way.
#pragma once
#include "autograd/var.h"
#include "engine/ops/bias_activation.h"

namespace cuttle::autograd {

// x [N, C, H, W], bias [C]; op one of engine::is_fusable_activation's.
Var bias_activation(const Var& x, const Var& bias, engine::UnaryOp op, double param = 1.0);

}  // namespace cuttle::autograd
