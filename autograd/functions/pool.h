// Declares the differentiable pooling functions on Var: average, max and adaptive average pooling.
#pragma once
#include "autograd/var.h"
#include "engine/ops/pool.h"

namespace cuttle::autograd {

using engine::Size2;

Var avg_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0}, bool count_include_pad = true,
               bool ceil_mode = false);
Var max_pool2d(const Var& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0}, bool ceil_mode = false);
Var adaptive_avg_pool2d(const Var& x, int64_t out_h, int64_t out_w);

}  // namespace cuttle::autograd
