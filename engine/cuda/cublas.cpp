#include "engine/cuda/cublas.h"

#include <atomic>
#include <cstdint>

#include "engine/cuda/cublaslt_gemm.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/slot_table.h"
#include "engine/op_trace.h"

namespace cuttle::engine::cuda {

namespace {
std::atomic<bool> g_tf32{false};
}

void set_allow_tf32(bool on) { g_tf32 = on; }
bool allow_tf32() { return g_tf32; }

namespace {

// One cuBLAS handle and one cuBLASLt handle per (device, stream slot), bound to that slot's stream,
// and one workspace both use: calls on one stream run in order, so they may share it, and threads
// issuing to different slots at once (autograd's backward workers) never share anything.
struct BlasSlot {
  cublasHandle_t handle = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

struct BlasSlots {
  static constexpr const char* name = "cuBLAS handles";
};

const BlasSlot& blas_slot(int device) {
  return SlotTable<BlasSlot, BlasSlots>::get(device, stream_slot(device), [device] {
    CUTTLE_CHECK(device < device_count(), "cuBLAS: no device ", device);
    DeviceGuard guard(device);
    BlasSlot s;
    // cuBLAS's advice for its workspace: 32 MiB on Hopper, 4 MiB before.
    s.workspace_bytes = device_info(device).major >= 9 ? (size_t(32) << 20) : (size_t(4) << 20);
    CUTTLE_CUDA_CHECK(cudaMalloc(&s.workspace, s.workspace_bytes));  // kept for the process's life
    CUTTLE_CUBLAS_CHECK(cublasLtCreate(&s.lt));
    CUTTLE_CUBLAS_CHECK(cublasCreate(&s.handle));
    CUTTLE_CUBLAS_CHECK(cublasSetStream(s.handle, stream(device)));
    CUTTLE_CUBLAS_CHECK(cublasSetWorkspace(s.handle, s.workspace, s.workspace_bytes));
    return s;
  });
}

// The f32 product through cuBLASLt's cached plans where enabled and offered; false: run the classic call.
bool try_lt(int device, const LtGemm& g) {
  if (!cublaslt_enabled()) return false;
  const BlasSlot& s = blas_slot(device);
  return lt_gemm_f32(device, s.lt, stream(device), s.workspace, s.workspace_bytes, g);
}

}  // namespace

cublasHandle_t cublas_handle(int device) { return blas_slot(device).handle; }

Tensor gemm_batched(const Tensor& A, const Tensor& B, const Shape& out_batch) {
  const int64_t M = A.size(-2), K = A.size(-1), N = B.size(-1);
  Shape a_full = out_batch, b_full = out_batch, c_full = out_batch;
  a_full.insert(a_full.end(), {M, K});
  b_full.insert(b_full.end(), {K, N});
  c_full.insert(c_full.end(), {M, N});
  const int device = A.device().index;
  DeviceGuard guard(device);
  // Broadcast batches are materialised: the copy kernel reads stride-0 axes, cuBLAS wants strides.
  const Tensor a = A.expand(a_full).contiguous(), b = B.expand(b_full).contiguous();
  Tensor c = Tensor::empty(c_full, A.dtype(), A.device());
  const int64_t batch = shape_numel(out_batch);
  if (c.numel() == 0) return c;
  if (K == 0) {
    c.zero_();
    return c;
  }
  CUTTLE_CHECK(A.dtype() == DType::f32 || A.dtype() == DType::f64, "matmul on the GPU: dtype ",
               dtype_name(A.dtype()), " is not supported");
  // Row-major C = A B is column-major C^T = B^T A^T: pass B first, with the sizes swapped.
  gemm_strided_batched(device, A.dtype(), N, M, K, b.raw_data(), N, K * N, a.raw_data(), K, M * K, c.raw_data(), N,
                       M * N, batch);
  return c;
}

void gemm_strided_batched(int device, DType dt, int64_t m, int64_t n, int64_t k, const void* A, int64_t lda,
                          int64_t stride_a, const void* B, int64_t ldb, int64_t stride_b, void* C, int64_t ldc,
                          int64_t stride_c, int64_t batch, bool trans_a, bool trans_b) {
  if (dt == DType::f32 && try_lt(device, LtGemm{trans_a, trans_b, m, n, k, A, lda, stride_a, B, ldb, stride_b, C, ldc,
                                                 stride_c, batch, 0.0f, allow_tf32()}))
    return;
  HostSection section("cublas: gemm");
  cublasHandle_t h = cublas_handle(device);
  const cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (dt == DType::f32) {
    const float one = 1.0f, zero = 0.0f;
    const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUTTLE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, ta, tb, (int)m, (int)n, (int)k, &one, A, CUDA_R_32F, (int)lda,
                                                   stride_a, B, CUDA_R_32F, (int)ldb, stride_b, &zero, C, CUDA_R_32F,
                                                   (int)ldc, stride_c, (int)batch, compute, CUBLAS_GEMM_DEFAULT));
  } else {
    const double one = 1.0, zero = 0.0;
    CUTTLE_CUBLAS_CHECK(cublasDgemmStridedBatched(h, ta, tb, (int)m, (int)n, (int)k, &one,
                                                  static_cast<const double*>(A), (int)lda, stride_a,
                                                  static_cast<const double*>(B), (int)ldb, stride_b, &zero,
                                                  static_cast<double*>(C), (int)ldc, stride_c, (int)batch));
  }
}

void gemm(int device, DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void* A,
          int64_t lda, const void* B, int64_t ldb, void* C, int64_t ldc, double beta) {
  CUTTLE_CHECK(m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX && lda <= INT32_MAX && ldb <= INT32_MAX &&
                   ldc <= INT32_MAX,
               "cuBLAS gemm: sizes ", m, "x", n, "x", k, " exceed 32-bit indexing");
  if (dt == DType::f32 && try_lt(device, LtGemm{trans_a, trans_b, m, n, k, A, lda, 0, B, ldb, 0, C, ldc, 0, 1,
                                                 (float)beta, allow_tf32()}))
    return;
  HostSection section("cublas: gemm");
  cublasHandle_t h = cublas_handle(device);
  const cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (dt == DType::f32) {
    const float one = 1.0f, b = (float)beta;
    const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUTTLE_CUBLAS_CHECK(cublasGemmEx(h, ta, tb, (int)m, (int)n, (int)k, &one, A, CUDA_R_32F, (int)lda, B, CUDA_R_32F,
                                     (int)ldb, &b, C, CUDA_R_32F, (int)ldc, compute, CUBLAS_GEMM_DEFAULT));
  } else {
    CUTTLE_CHECK(dt == DType::f64, "cuBLAS gemm: dtype ", dtype_name(dt), " is not supported");
    const double one = 1.0;
    CUTTLE_CUBLAS_CHECK(cublasDgemm(h, ta, tb, (int)m, (int)n, (int)k, &one, static_cast<const double*>(A), (int)lda,
                                    static_cast<const double*>(B), (int)ldb, &beta, static_cast<double*>(C), (int)ldc));
  }
}

}  // namespace cuttle::engine::cuda
