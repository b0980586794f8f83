// Declares the cuBLAS services: one handle per device bound to cuttle's stream, the TF32 switch,
// and the batched GEMM behind matmul on the GPU.
#pragma once
#include <cublas_v2.h>

#include "engine/tensor.h"

namespace cuttle::engine::cuda {

cublasHandle_t cublas_handle(int device);
// TF32 tensor-core math for f32 products (off by default: results then match the CPU to f32 rounding).
void set_allow_tf32(bool on);
bool allow_tf32();

// out[b] = A[b] B[b] for every index b of `out_batch`; A [..., M, K] and B [..., K, N] broadcast to it.
Tensor gemm_batched(const Tensor& A, const Tensor& B, const Shape& out_batch);

}  // namespace cuttle::engine::cuda
