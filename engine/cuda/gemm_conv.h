// Declares convolution as im2col + one cuBLAS GEMM per batch chunk, for the small feature maps of the
// MoE's deep scales (11x11 and 22x22): cuDNN's engines run a 7x7 over 512 channels on a handful of
// 11x11 samples at a few percent of the GPU's rate (docs/PERFORMANCE.md); here the batch folds
// into the GEMM's N (columns = samples x output pixels) and cuBLAS splits the long reduction (C*kh*kw).
// All three directions; the weight gradient accumulates over chunks in sample order.
#pragma once
#include "engine/ops/conv.h"

namespace cuttle::engine::cuda {

// Groups 1, a kernel larger than 1x1, at most kGemmConvMaxPixels output pixels per sample and
// kGemmConvMaxColumns in the batch (larger GEMMs lose to cuDNN, whose engines then fill the GPU), a
// reduction of at least kGemmConvMinReduction (C*kh*kw), f32/f64, one sample's column matrix within
// 256 MiB, and the path switched on (set_gemm_conv, or CUTTLE_GEMM_CONV=0 in the environment).
bool gemm_conv_applies(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt);
constexpr int64_t kGemmConvMaxPixels = 484;
constexpr int64_t kGemmConvMaxColumns = 484;
constexpr int64_t kGemmConvMinReduction = 512;

void set_gemm_conv(bool on);
bool gemm_conv_enabled();
// Scratch cap for one chunk's column matrix (default 256 MiB; 0 restores it): batches whose columns
// exceed it run in chunks of samples. Tests lower it to exercise the chunking.
void set_gemm_conv_column_cap(int64_t bytes);
int64_t gemm_conv_column_cap();

// y [N, O, OH, OW] (fresh, contiguous) = conv of x with w; inputs contiguous and validated by the caller.
void gemm_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p);
// gx [N, C, H, W] (fresh, contiguous) from grad_out [N, O, OH, OW].
void gemm_conv2d_backward_input(const Tensor& grad_out, const Tensor& w, Tensor& gx, const Conv2dParams& p);
// gw [O, C, kh, kw] (fresh, contiguous) from grad_out and x.
void gemm_conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, Tensor& gw, const Conv2dParams& p);

}  // namespace cuttle::engine::cuda
