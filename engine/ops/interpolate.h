// Declares bilinear resizing of NCHW tensors to any output size, and its backward.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace cuttle::engine {

// Resizes the last two axes of x [N,C,H,W] to out_h x out_w. Source coordinate of output index d
// (PyTorch's definitions): align_corners false: max(0, (d + 0.5) * in / out - 0.5);
// align_corners true: d * (in - 1) / (out - 1). Taps i0 = floor(src), i1 = min(i0 + 1, in - 1).
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners = false);
// Scatters dL/dy [N,C,out_h,out_w] back onto the input [N,C,H,W].
Tensor resize_bilinear_backward(const Tensor& grad_out, const Shape& x_shape, bool align_corners = false);

}  // namespace cuttle::engine
