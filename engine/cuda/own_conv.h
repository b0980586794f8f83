// Declares the convolution forwards cuttle runs with its own kernels instead of cuDNN, for the shapes
// where cuDNN's heuristic choice is measurably slower (docs/PERFORMANCE.md): depthwise convolutions
// (groups == in == out channels, square 3x3/5x5/7x7 kernels, any stride, padding, dilation) through a
// register-window kernel, narrow 3x3 convolutions (16 or 32 output channels) through a direct
// shared-memory kernel, and 1x1 stride-1 unpadded convolutions as one strided-batched cuBLAS GEMM
// (forward and input gradient). The other backward passes stay on cuDNN. Inputs are contiguous and
// validated by the caller.
#pragma once
#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

bool depthwise_kernel_applies(const Shape& x, const Shape& w, const Conv2dParams& p);
// y [N, C, OH, OW] (fresh, contiguous) = depthwise conv of x with w [C, 1, K, K].
void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p);

// Narrow 3x3 layers: stride 1, groups 1, 16 or 32 output and at most 32 input channels, any padding
// and dilation (while the staged window fits in shared memory); not for f32 under TF32, where cuDNN's
// tensor-core kernels are faster.
bool small_conv_kernel_applies(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt);
// y [N, O, OH, OW] (fresh, contiguous) = conv of x with w [O, C, 3, 3].
void small_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p);

bool pointwise_gemm_applies(const Shape& x, const Shape& w, const Conv2dParams& p);
// y [N, O, H, W] = w [O, C, 1, 1] applied to every pixel of x [N, C, H, W].
void pointwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y);
// The input gradient through cuBLAS where pointwise_gemm_applies, unless CUTTLE_POINTWISE_GEMM_BACKWARD=0
// (cuDNN then, for comparison).
bool pointwise_gemm_backward_input_applies(const Shape& x, const Shape& w, const Conv2dParams& p);
// gx [N, C, H, W] (fresh, contiguous) = w^T applied to every pixel of gy [N, O, H, W].
void pointwise_conv2d_backward_input(const Tensor& gy, const Tensor& w, Tensor& gx);

}  // namespace cuttle::engine::cuda
