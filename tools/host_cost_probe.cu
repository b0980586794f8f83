// Dev-only probe of the host's cost of the CUDA calls an op is made of (kernel launch, device
// query, event record and wait, cuBLAS GEMM through cublasGemmEx and through cublasLt with a cached
// algorithm). Not part of the build: nvcc -O2 -o /tmp/probe tools/host_cost_probe.cu -lcublas -lcublasLt
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <functional>

__global__ void empty_kernel() {}
struct Args {
  long long v[24];
};
__global__ void args_kernel(Args a, float* out) {
  if (threadIdx.x == 1000) out[0] = (float)a.v[3];
}

double us_per_call(const char* name, int n, const std::function<void()>& fn, cudaStream_t s) {
  for (int i = 0; i < 100; ++i) fn();
  cudaStreamSynchronize(s);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) fn();
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
  cudaStreamSynchronize(s);
  std::printf("%-48s %8.2f us per call\n", name, us);
  return us;
}

int main() {
  cudaStream_t s;
  cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  float* buf;
  cudaMalloc(&buf, 64 << 20);
  const int n = 2000;
  us_per_call("empty kernel launch", n, [&] { empty_kernel<<<1, 32, 0, s>>>(); }, s);
  Args a{};
  us_per_call("kernel launch, 192-byte argument", n, [&] { args_kernel<<<64, 256, 0, s>>>(a, buf); }, s);
  us_per_call("cudaGetDevice", n, [&] { int d; cudaGetDevice(&d); }, s);
  us_per_call("cudaGetLastError", n, [&] { cudaGetLastError(); }, s);
  cudaEvent_t ev;
  cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  cudaStream_t s2;
  cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking);
  us_per_call("cudaEventRecord + cudaStreamWaitEvent", n, [&] { cudaEventRecord(ev, s); cudaStreamWaitEvent(s2, ev, 0); }, s);
  us_per_call("cudaMemsetAsync 4 KiB", n, [&] { cudaMemsetAsync(buf, 0, 4096, s); }, s);

  cublasHandle_t h;
  cublasCreate(&h);
  cublasSetStream(h, s);
  const float one = 1, zero = 0;
  for (int shape = 0; shape < 2; ++shape) {
    const int m = shape ? 1936 : 64, nn = shape ? 128 : 64, k = shape ? 1152 : 64;
    char label[96];
    std::snprintf(label, sizeof label, "cublasGemmEx f32 %dx%dx%d", m, nn, k);
    us_per_call(label, n, [&] {
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, nn, k, &one, buf, CUDA_R_32F, m, buf + (8 << 20), CUDA_R_32F, k,
                   &zero, buf + (12 << 20), CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }, s);
    cublasLtHandle_t lt;
    cublasLtCreate(&lt);
    cublasLtMatmulDesc_t op;
    cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, m);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, nn, k);
    cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, nn, m);
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulPreferenceCreate(&pref);
    size_t ws = 32 << 20;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t res{};
    int got = 0;
    cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &res, &got);
    void* wsp;
    cudaMalloc(&wsp, ws);
    std::snprintf(label, sizeof label, "cublasLtMatmul cached algo %dx%dx%d", m, nn, k);
    if (got)
      us_per_call(label, n, [&] {
        cublasLtMatmul(lt, op, &one, buf, la, buf + (8 << 20), lb, &zero, buf + (12 << 20), lc, buf + (12 << 20), lc,
                       &res.algo, wsp, ws, s);
      }, s);
    std::snprintf(label, sizeof label, "cublasLt heuristic query %dx%dx%d", m, nn, k);
    us_per_call(label, 200, [&] { cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &res, &got); }, s);
  }
  return 0;
}
