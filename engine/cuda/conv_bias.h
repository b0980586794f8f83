// Declares the per-channel kernels convolution needs besides cuDNN: adding the bias to an NCHW output
// and the bias gradient (a deterministic per-channel sum over N, H, W).
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// y[n, c, ...] += bias[c]; y contiguous [N, C, ...] on a GPU, bias [C] of y's dtype.
void add_channel_bias_(Tensor& y, const Tensor& bias);
// [C]: grad summed over every axis but 1 (grad [N, C, ...]).
Tensor channel_sum(const Tensor& grad);

}  // namespace cuttle::engine::cuda
