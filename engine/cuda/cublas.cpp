#include "engine/cuda/cublas.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"

namespace cuttle::engine::cuda {

namespace {
std::atomic<bool> g_tf32{false};
}

void set_allow_tf32(bool on) { g_tf32 = on; }
bool allow_tf32() { return g_tf32; }

cublasHandle_t cublas_handle(int device) {
  static std::mutex mu;
  static std::vector<cublasHandle_t> handles;
  std::lock_guard<std::mutex> lock(mu);
  if (handles.empty()) handles.assign(std::max(device_count(), 1), nullptr);
  CUTTLE_CHECK(device >= 0 && device < (int)handles.size(), "cuBLAS: no device ", device);
  if (!handles[device]) {
    DeviceGuard guard(device);
    CUTTLE_CUBLAS_CHECK(cublasCreate(&handles[device]));
    CUTTLE_CUBLAS_CHECK(cublasSetStream(handles[device], stream(device)));
  }
  return handles[device];
}

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
  cublasHandle_t h = cublas_handle(device);
  // Row-major C = A B is column-major C^T = B^T A^T: pass B first, with the sizes swapped.
  if (A.dtype() == DType::f32) {
    const float one = 1.0f, zero = 0.0f;
    const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUTTLE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one,
                                                   b.raw_data(), CUDA_R_32F, (int)N, K * N, a.raw_data(), CUDA_R_32F,
                                                   (int)K, M * K, &zero, c.raw_data(), CUDA_R_32F, (int)N, M * N,
                                                   (int)batch, compute, CUBLAS_GEMM_DEFAULT));
  } else {
    CUTTLE_CHECK(A.dtype() == DType::f64, "matmul on the GPU: dtype ", dtype_name(A.dtype()), " is not supported");
    const double one = 1.0, zero = 0.0;
    CUTTLE_CUBLAS_CHECK(cublasDgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one,
                                                  static_cast<const double*>(b.raw_data()), (int)N, K * N,
                                                  static_cast<const double*>(a.raw_data()), (int)K, M * K, &zero,
                                                  static_cast<double*>(c.raw_data()), (int)N, M * N, (int)batch));
  }
  return c;
}

}  // namespace cuttle::engine::cuda
