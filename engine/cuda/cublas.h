// Declares the cuBLAS services: one handle per device bound to cuttle's stream, the TF32 switch,
// the batched GEMM behind matmul on the GPU, and the status check of cuBLAS calls.
#pragma once
#include <cublas_v2.h>

#include "engine/error.h"
#include "engine/tensor.h"

// Throws with the call and cuBLAS's status string when a cuBLAS call fails.
#define CUTTLE_CUBLAS_CHECK(call)                                                                       \
  do {                                                                                                  \
    cublasStatus_t cuttle_st_ = (call);                                                                 \
    if (cuttle_st_ != CUBLAS_STATUS_SUCCESS)                                                            \
      ::cuttle::detail::throw_error(__FILE__, __LINE__, "cuBLAS error in ", #call, ": ",                \
                                    cublasGetStatusString(cuttle_st_));                                 \
  } while (0)

namespace cuttle::engine::cuda {

cublasHandle_t cublas_handle(int device);
// TF32 tensor-core math for f32 products (off by default: results then match the CPU to f32 rounding).
void set_allow_tf32(bool on);
bool allow_tf32();

// out[b] = A[b] B[b] for every index b of `out_batch`; A [..., M, K] and B [..., K, N] broadcast to it.
Tensor gemm_batched(const Tensor& A, const Tensor& B, const Shape& out_batch);

}  // namespace cuttle::engine::cuda
