// Declares the CUDA kernels of the element-wise op family (engine/ops/elementwise.h); the engine ops
// route here when their operands are on a GPU. Shapes and dtypes are validated by the caller.
#pragma once
#include "engine/ops/elementwise.h"

namespace cuttle::engine::cuda {

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape);
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b, const Shape& out_shape);
// a contiguous; s converted to a's dtype as Tensor::full would; a op s, or s op a when scalar_first.
Tensor binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first);
Tensor compare_scalar(CompareOp op, const Tensor& a, double s);
Tensor unary(UnaryOp op, const Tensor& x, double param);
Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, double param);

}  // namespace cuttle::engine::cuda
