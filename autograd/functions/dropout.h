// Declares the differentiable dropout on Var (the keep mask is drawn once, in the forward).
#pragma once
#include "autograd/var.h"
#include "engine/ops/dropout.h"

namespace cuttle::autograd {

Var dropout(const Var& x, double p, bool training, engine::Generator* gen = nullptr);

}  // namespace cuttle::autograd
