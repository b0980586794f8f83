// Declares the f32 GEMM through cuBLASLt with the algorithm chosen once per shape: cublasGemmEx
// chooses again on every call; here a shape's first call chooses and later calls reuse its answer
// and descriptors, which issues a small GEMM about 1 us sooner (7.5 -> 6.4 us on an H100 host).
#pragma once
#include <cublasLt.h>

#include <cstddef>
#include <cstdint>

namespace cuttle::engine::cuda {

// One column-major (strided-batched) f32 product C[i] = op(A[i]) op(B[i]) + beta C[i], as
// cublasGemmStridedBatchedEx takes it (m x k times k x n; a zero stride shares an operand), on the
// current stream slot of `device`, with `workspace` (bytes) for cuBLASLt.
struct LtGemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* A = nullptr;
  int64_t lda = 0, stride_a = 0;
  const void* B = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* C = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
  float beta = 0.0f;
  bool tf32 = false;
};

// Runs the product and returns true, or returns false without touching C where cuBLASLt offers no
// algorithm for it (the caller then runs the classic cuBLAS call). Throws on a failed call.
bool lt_gemm_f32(int device, cublasLtHandle_t lt, cudaStream_t stream, void* workspace, size_t workspace_bytes,
                 const LtGemm& g);

// Whether f32 GEMMs take this path: on unless CUTTLE_CUBLASLT=0 is set (to compare both in one run).
bool cublaslt_enabled();
void set_cublaslt_enabled(bool on);

}  // namespace cuttle::engine::cuda
