// Declares the weight transform that runs a stride-1 convolution forward as cuDNN's backward-data
// operation: y = conv(x, w) equals the input gradient of conv(., w') for w' = w with its two channel
// axes swapped and both spatial axes reversed, at padding (k - 1) * dilation - pad. cuDNN's backward-data
// engines run some shapes (large kernels, few output channels) several times faster than its forward
// engines in f32 without tensor cores (docs/PERFORMANCE.md).
#pragma once
#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

// w [O, C, kh, kw] (contiguous, on a GPU) -> w' [C, O, kh, kw] with w'[c, o, i, j] = w[o, c, kh-1-i, kw-1-j].
Tensor flip_swap_conv_weight(const Tensor& w);

}  // namespace cuttle::engine::cuda
