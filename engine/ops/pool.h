// Declares 2-D pooling on NCHW tensors: average and max pooling (kernel, stride, padding, ceil mode)
// and adaptive average pooling, each with its backward kernel.
#pragma once
#include <array>
#include <cstdint>

#include "engine/tensor.h"

namespace cuttle::engine {

using Size2 = std::array<int64_t, 2>;  // {height, width}

// [N, C, OH, OW] for pooling x [N,C,H,W]: OH = floor_or_ceil((H + 2 pad - kernel) / stride) + 1, where
// ceil mode drops a last window that would start in the right padding. Needs pad <= kernel / 2.
Shape pool2d_output_shape(const Shape& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode, const char* op);

// Mean over each window. count_include_pad: divide by the window's size clipped to the padded input
// (padding counts as zeros); otherwise by the number of real input cells in the window.
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad = true,
                  bool ceil_mode = false);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape, Size2 kernel, Size2 stride, Size2 padding,
                           bool count_include_pad = true, bool ceil_mode = false);

struct MaxPool2dResult {
  Tensor output;
  Tensor indices;  // i64 [N,C,OH,OW]: the flat index h * W + w of each maximum in its input plane
};
// Max over each window's real cells (padding never wins); NaN propagates.
MaxPool2dResult max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode = false);
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& x_shape);

// Output cell i averages input rows [floor(i H / OH), ceil((i + 1) H / OH)) (columns likewise).
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& x_shape);

}  // namespace cuttle::engine
