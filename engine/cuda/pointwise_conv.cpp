// 1x1 convolution forward as one strided-batched cuBLAS GEMM (engine/cuda/own_conv.h): per sample,
// y[n] [O, HW] = w [O, C] x[n] [C, HW], the weight shared through a zero batch stride. cuDNN's legacy
// heuristics run these shapes 2-2.4x slower than PyTorch's choice (docs/PERFORMANCE.md).
#include "engine/cuda/cublas.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/own_conv.h"
#include "engine/cuda/runtime.h"

namespace cuttle::engine::cuda {

bool pointwise_gemm_applies(const Shape& x, const Shape& w, const Conv2dParams& p) {
  return p.groups == 1 && w[2] == 1 && w[3] == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 &&
         p.pad_w == 0 && x[1] <= INT32_MAX && w[0] <= INT32_MAX && x[2] * x[3] <= INT32_MAX && x[0] <= INT32_MAX;
}

void pointwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), O = w.size(0);
  cublasHandle_t h = cublas_handle(x.device().index);
  // Row-major y[n] = w x[n] is column-major y[n]^T = x[n]^T w^T: x[n] is the column-major [HW, C]
  // operand, w the [C, O] one.
  if (x.dtype() == DType::f32) {
    const float one = 1.0f, zero = 0.0f;
    const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUTTLE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)HW, (int)O, (int)C, &one,
                                                   x.raw_data(), CUDA_R_32F, (int)HW, C * HW, w.raw_data(), CUDA_R_32F,
                                                   (int)C, 0, &zero, y.raw_data(), CUDA_R_32F, (int)HW, O * HW, (int)N,
                                                   compute, CUBLAS_GEMM_DEFAULT));
  } else {
    const double one = 1.0, zero = 0.0;
    CUTTLE_CUBLAS_CHECK(cublasDgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)HW, (int)O, (int)C, &one,
                                                  static_cast<const double*>(x.raw_data()), (int)HW, C * HW,
                                                  static_cast<const double*>(w.raw_data()), (int)C, 0, &zero,
                                                  static_cast<double*>(y.raw_data()), (int)HW, O * HW, (int)N));
  }
}

}  // namespace cuttle::engine::cuda
