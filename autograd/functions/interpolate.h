// Declares the differentiable bilinear resize on Var (see engine/ops/interpolate.h for the sampling).
#pragma once
#include "autograd/var.h"
#include "engine/ops/interpolate.h"

namespace cuttle::autograd {

Var resize_bilinear(const Var& x, int64_t out_h, int64_t out_w, bool align_corners = false);

}  // namespace cuttle::autograd
