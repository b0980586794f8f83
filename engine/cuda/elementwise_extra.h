// Declares the CUDA kernels of the element-wise ops beyond binary / compare / unary
// (engine/ops/elementwise.h): clamp and its backward, where, and the in-place add_ and mul_scalar_
// (the scaled update of the fused attention and of the EMA). Operands may be strided or broadcast;
// shapes and dtypes are validated by the engine op.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

Tensor clamp(const Tensor& x, double lo, double hi);
Tensor clamp_backward(const Tensor& grad, const Tensor& x, double lo, double hi);
// cond: bool; a, b: one dtype; all broadcast to out_shape.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape);
void add_(Tensor& a, const Tensor& b, double alpha);
void mul_scalar_(Tensor& a, double s);
void add_scalar_(Tensor& a, double t);

}  // namespace cuttle::engine::cuda
