// Declares the CUDA kernels of 2-D pooling (engine/ops/pool.h). Shapes are validated by the engine op
// (the pooled shape is passed in). Forward kernels give one thread per output (one warp for large
// adaptive bins); the average-pool backwards gather, one thread per input cell summing the windows
// that cover it in output order, so they need no atomics; max-pool backward scatters through the
// stored indices with the deterministic sorted scatter-add (engine/cuda/scatter.h).
#pragma once
#include "engine/ops/pool.h"

namespace cuttle::engine::cuda {

Tensor avg_pool2d(const Tensor& x, const Shape& y_shape, Size2 kernel, Size2 stride, Size2 padding,
                  bool count_include_pad);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape, Size2 kernel, Size2 stride, Size2 padding,
                           bool count_include_pad);
MaxPool2dResult max_pool2d(const Tensor& x, const Shape& y_shape, Size2 kernel, Size2 stride, Size2 padding);
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& x_shape);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape);

}  // namespace cuttle::engine::cuda
