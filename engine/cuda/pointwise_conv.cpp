// 1x1 convolution forward and input gradient as one strided-batched cuBLAS GEMM each
// (engine/cuda/own_conv.h): per sample, y[n] [O, HW] = w [O, C] x[n] [C, HW] and gx[n] [C, HW] = w^T gy[n],
// the weight shared through a zero batch stride. cuDNN's legacy heuristics ran the forwards 2-2.4x
// slower than PyTorch's choice, its graph engines the input gradients of the MoE's 1x1 layers 1.1-1.8x
// slower than this; its weight gradients stay on cuDNN, which beat both a GEMM per sample and one GEMM
// over samples moved next to the pixels (docs/PERFORMANCE.md).
#include <cstdint>

#include "engine/cuda/cublas.h"
#include "engine/cuda/own_conv.h"
#include "engine/env_switch.h"

namespace cuttle::engine::cuda {

bool pointwise_gemm_applies(const Shape& x, const Shape& w, const Conv2dParams& p) {
  return p.groups == 1 && w[2] == 1 && w[3] == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 &&
         p.pad_w == 0 && x[1] <= INT32_MAX && w[0] <= INT32_MAX && x[2] * x[3] <= INT32_MAX && x[0] <= INT32_MAX;
}

void pointwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), O = w.size(0);
  // Row-major y[n] = w x[n] is column-major y[n]^T = x[n]^T w^T: x[n] is the column-major [HW, C]
  // operand, w the [C, O] one.
  gemm_strided_batched(x.device().index, x.dtype(), HW, O, C, x.raw_data(), HW, C * HW, w.raw_data(), C, 0,
                       y.raw_data(), HW, O * HW, N);
}

bool pointwise_gemm_backward_input_applies(const Shape& x, const Shape& w, const Conv2dParams& p) {
  static const bool on = env_switch_on("CUTTLE_POINTWISE_GEMM_BACKWARD");
  return on && pointwise_gemm_applies(x, w, p);
}

void pointwise_conv2d_backward_input(const Tensor& gy, const Tensor& w, Tensor& gx) {
  const int64_t N = gx.size(0), C = gx.size(1), HW = gx.size(2) * gx.size(3), O = w.size(0);
  // Column-major gx[n]^T [HW, C] = gy[n]^T [HW, O] (w^T)^T: gy[n] is the column-major [HW, O] operand,
  // w (column-major [C, O]) enters transposed.
  gemm_strided_batched(gy.device().index, gy.dtype(), HW, C, O, gy.raw_data(), HW, O * HW, w.raw_data(), C, 0,
                       gx.raw_data(), HW, C * HW, N, false, true);
}

}  // namespace cuttle::engine::cuda
