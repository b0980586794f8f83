// Declares the CUDA kernels of bilinear resizing (engine/ops/interpolate.h), align_corners true and
// false. A small kernel first tabulates each axis (taps and weights per output, the range of outputs
// reading each input cell). Forward: one thread per output. Backward: a deterministic gather, one
// thread per input cell summing the outputs that sample it, so no atomics and the same result on
// every run.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// x [N,C,H,W] on a GPU; sizes validated by the engine op.
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners);
Tensor resize_bilinear_backward(const Tensor& grad_out, const Shape& x_shape, bool align_corners);

}  // namespace cuttle::engine::cuda
