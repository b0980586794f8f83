// Declares the cuBLAS services: one handle per (device, stream slot) bound to that slot's stream, the
// TF32 switch, the batched GEMM behind matmul on the GPU, and the status check of cuBLAS calls. f32
// products go through cuBLASLt with plans cached per shape (cublaslt_gemm.h) where it offers one.
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

// Column-major C[i] = op(A[i]) op(B[i]) (m x k times k x n) for i < batch, operands `stride_*` elements
// apart (0 shares one operand), op transposing where asked, f32 (TF32 as the switch) or f64: the one
// cuBLAS call behind matmul and the 1x1 convolution.
void gemm_strided_batched(int device, DType dt, int64_t m, int64_t n, int64_t k, const void* A, int64_t lda,
                          int64_t stride_a, const void* B, int64_t ldb, int64_t stride_b, void* C, int64_t ldc,
                          int64_t stride_c, int64_t batch, bool trans_a = false, bool trans_b = false);

// Column-major C = op(A) op(B) + beta C (op transposes where asked; m x k times k x n), one plain GEMM so
// cuBLAS's own heuristics may split a long k across blocks; f32 (TF32 as the switch) or f64.
void gemm(int device, DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void* A,
          int64_t lda, const void* B, int64_t ldb, void* C, int64_t ldc, double beta);

}  // namespace cuttle::engine::cuda
