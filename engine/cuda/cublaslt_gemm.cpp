#include "engine/cuda/cublaslt_gemm.h"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "engine/cuda/cublas.h"
#include "engine/env_switch.h"
#include "engine/op_trace.h"

namespace cuttle::engine::cuda {

namespace {

// On by default; CUTTLE_CUBLASLT=0 runs the classic calls (to compare both in one session).
std::atomic<bool> g_enabled{env_switch_on("CUTTLE_CUBLASLT")};

// The bytes every batch element's operand is aligned to (at most 256: cuBLASLt asks no more).
uint32_t alignment(const void* p, int64_t stride_elems, int64_t batch) {
  uint64_t bits = reinterpret_cast<uint64_t>(p) | 256;
  if (batch > 1 && stride_elems != 0) bits |= (uint64_t)stride_elems * sizeof(float);
  return (uint32_t)(bits & (~bits + 1));  // the lowest set bit
}

// What a shape's plan depends on (its device first); the pointers enter through their alignment only.
using PlanKey = std::array<int64_t, 18>;

// Descriptors and the chosen algorithm of one shape, kept for the process's life.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool usable = false;  // false: cuBLASLt found no algorithm; the classic call runs
};

cublasLtMatrixLayout_t make_layout(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  CUTTLE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols, ld));
  if (batch > 1) {
    const int32_t count = (int32_t)batch;
    CUTTLE_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    CUTTLE_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
  return l;
}

std::unique_ptr<Plan> make_plan(cublasLtHandle_t lt, const LtGemm& g, size_t workspace_bytes,
                                const std::array<uint32_t, 3>& align) {
  auto plan = std::make_unique<Plan>();
  const cublasComputeType_t compute = g.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  CUTTLE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->op, compute, CUDA_R_32F));
  const int32_t ta = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUTTLE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  CUTTLE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  // Stored shapes: op(A) is m x k, so A is k x m when transposed; likewise B.
  plan->a = make_layout(g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.batch, g.stride_a);
  plan->b = make_layout(g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.batch, g.stride_b);
  plan->c = make_layout(g.m, g.n, g.ldc, g.batch, g.stride_c);

  cublasLtMatmulPreference_t pref = nullptr;
  CUTTLE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = workspace_bytes;
  CUTTLE_CUBLAS_CHECK(
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  const std::array<cublasLtMatmulPreferenceAttributes_t, 3> align_attrs{
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES};
  for (size_t i = 0; i < 3; ++i)
    CUTTLE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, align_attrs[i], &align[i], sizeof align[i]));
  CUTTLE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                           &align[2], sizeof align[2]));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(lt, plan->op, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
    plan->algo = result.algo;
    plan->usable = true;
  } else if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) {
    CUTTLE_CUBLAS_CHECK(st);
  }
  return plan;
}

// Shapes recur every step, so after the first step each GEMM is one lookup and one cublasLtMatmul.
std::mutex g_plans_mu;
std::map<PlanKey, std::unique_ptr<Plan>>& plans() {
  static auto* all = new std::map<PlanKey, std::unique_ptr<Plan>>();  // outlives static destructors
  return *all;
}

}  // namespace

bool cublaslt_enabled() { return g_enabled; }
void set_cublaslt_enabled(bool on) { g_enabled = on; }

bool lt_gemm_f32(int device, cublasLtHandle_t lt, cudaStream_t stream, void* workspace, size_t workspace_bytes,
                 const LtGemm& g) {
  HostSection section("cublasLt: lookup and matmul");
  const std::array<uint32_t, 3> align{alignment(g.A, g.stride_a, g.batch), alignment(g.B, g.stride_b, g.batch),
                                      alignment(g.C, g.stride_c, g.batch)};
  const PlanKey key{device, g.trans_a, g.trans_b, g.m, g.n, g.k, g.lda, g.stride_a, g.ldb, g.stride_b, g.ldc,
                    g.stride_c, g.batch, g.beta != 0.0f, g.tf32, align[0], align[1], align[2]};
  const Plan* plan;
  {
    std::lock_guard<std::mutex> lock(g_plans_mu);
    auto& slot = plans()[key];
    if (!slot) slot = make_plan(lt, g, workspace_bytes, align);
    plan = slot.get();
  }
  if (!plan->usable) return false;
  const float alpha = 1.0f;
  const cublasStatus_t st = cublasLtMatmul(lt, plan->op, &alpha, g.A, plan->a, g.B, plan->b, &g.beta, g.C, plan->c,
                                           g.C, plan->c, &plan->algo, workspace, workspace_bytes, stream);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) return false;
  CUTTLE_CUBLAS_CHECK(st);
  return true;
}

}  // namespace cuttle::engine::cuda
