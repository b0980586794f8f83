// 1x1 convolution forward as one strided-batched cuBLAS GEMM (engine/cuda/own_conv.h): per sample,
// y[n] [O, HW] = w [O, C] x[n] [C, HW], the weight shared through a zero batch stride. cuDNN's legacy
// heuristics run these shapes 2-2.4x slower than PyTorch's choice (docs/PERFORMANCE.md).
#include <cstdint>

#include "engine/cuda/cublas.h"
#include "engine/cuda/own_conv.h"

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

}  // namespace cuttle::engine::cuda
