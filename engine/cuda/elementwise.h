// Declares the CUDA kernels of the element-wise op family (engine/ops/elementwise.h); the engine ops
// route here when their operands are on a GPU. Shapes and dtypes are validated by the caller.
#pragma once
#include "engine/ops/elementwise.h"

namespace cuttle::engine::cuda {

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape);
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b, const Shape& out_shape);
Tensor unary(UnaryOp op, const Tensor& x, double param);
Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param);

}  // namespace cuttle::engine::cuda
