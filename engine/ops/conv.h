// Declares 2-D convolution (NCHW, grouped, strided, padded, dilated) and its fused backward kernels.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace cuttle::engine {

struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t groups = 1;
};

// [N, O, OH, OW] for input [N,C,H,W] and weight [O, C/groups, kh, kw], with
// OH = floor((H + 2 pad_h - dil_h (kh - 1) - 1) / stride_h) + 1 (OW likewise). Validates everything.
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p);

// y = conv(x, w) + bias; `bias` [O] may be an undefined Tensor (no bias). x, w, bias share a float dtype.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);
// Gradient of the input [N,C,H,W] given dL/dy.
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
// Gradient of the weight [O, C/groups, kh, kw] given dL/dy, summed over the batch in sample order.
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, const Conv2dParams& p);
// Gradient of the bias [O]: dL/dy summed over N, OH, OW.
Tensor conv2d_backward_bias(const Tensor& grad_out);

}  // namespace cuttle::engine
