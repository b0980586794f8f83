// Declares the convolution forwards cuttle runs with its own kernels instead of cuDNN, for the shapes
// where cuDNN's heuristic choice is measurably slower (docs/PERFORMANCE.md): depthwise convolutions
// (groups == in == out channels, square 3x3/5x5/7x7 kernels, any stride, padding, dilation) through a
// register-window kernel, and 1x1 stride-1 unpadded convolutions as one strided-batched cuBLAS GEMM.
// Backward passes stay on cuDNN. Inputs are contiguous and validated by the caller.
#pragma once
#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

bool depthwise_kernel_applies(const Shape& x, const Shape& w, const Conv2dParams& p);
// y [N, C, OH, OW] (fresh, contiguous) = depthwise conv of x with w [C, 1, K, K].
void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p);

bool pointwise_gemm_applies(const Shape& x, const Shape& w, const Conv2dParams& p);
// y [N, O, H, W] = w [O, C, 1, 1] applied to every pixel of x [N, C, H, W].
void pointwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y);

}  // namespace cuttle::engine::cuda
