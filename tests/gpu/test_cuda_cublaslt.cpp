// GPU tests (label "gpu") of the f32 GEMMs through cuBLASLt's cached plans (engine/cuda/cublaslt_gemm.h):
// each layout the engine asks for (transposes, strided batches, a shared operand, accumulation into C,
// operands off the 256-byte grid) against a double-precision loop on the CPU and against the classic
// cuBLAS call, repeat calls bit-identical, and the classic call left unused while cuBLASLt serves.
#include <vector>

#include "engine/op_trace.h"
#include "tests/gpu/gpu_test_util.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cublas.h"
#include "engine/cuda/cublaslt_gemm.h"
#endif

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

#ifdef CUTTLE_WITH_CUDA
namespace {

struct GemmCase {
  bool ta, tb;
  int64_t m, n, k, batch;
  bool share_b;   // B's batch stride 0: one operand for every batch element (the 1x1 convolution's weight)
  float beta;     // 1: accumulate into C (plain GEMMs only)
  int64_t shift;  // elements every operand starts past a fresh allocation (1: 4-byte alignment only)
};

// Column-major op(A) op(B) + beta C in double, batch by batch, from the CPU copies.
std::vector<double> reference(const GemmCase& c, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c0, int64_t lda, int64_t ldb, int64_t sa, int64_t sb,
                              int64_t sc) {
  std::vector<double> out(c0.begin(), c0.end());
  for (int64_t q = 0; q < c.batch; ++q)
    for (int64_t j = 0; j < c.n; ++j)
      for (int64_t i = 0; i < c.m; ++i) {
        double acc = 0;
        for (int64_t l = 0; l < c.k; ++l) {
          const double av = a[c.shift + q * sa + (c.ta ? l + i * lda : i + l * lda)];
          const double bv = b[c.shift + q * sb + (c.tb ? j + l * ldb : l + j * ldb)];
          acc += av * bv;
        }
        double& o = out[c.shift + q * sc + i + j * c.m];
        o = acc + c.beta * o;
      }
  return out;
}

}  // namespace
#endif

TEST_SUITE("gpu") {

TEST_CASE("cuBLASLt GEMMs match a double loop and the classic cuBLAS call, and repeat bit for bit") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  namespace cu = eng::cuda;
  const bool before = cu::cublaslt_enabled();
  const std::vector<GemmCase> cases = {
      {false, false, 37, 19, 45, 1, false, 0.0f, 0}, {true, false, 64, 48, 300, 1, false, 0.0f, 0},
      {false, true, 33, 70, 17, 1, false, 1.0f, 0},  {true, true, 20, 21, 22, 1, false, 1.0f, 1},
      {false, false, 121, 32, 64, 4, false, 0.0f, 0}, {false, true, 96, 24, 40, 3, true, 0.0f, 0},
      {false, false, 200, 64, 128, 5, true, 0.0f, 1}};
  for (const GemmCase& c : cases) {
    CAPTURE(c.ta);
    CAPTURE(c.tb);
    CAPTURE(c.m);
    CAPTURE(c.batch);
    CAPTURE(c.shift);
    const int64_t lda = c.ta ? c.k : c.m, ldb = c.tb ? c.n : c.k;
    const int64_t sa = c.m * c.k, sb = c.share_b ? 0 : c.k * c.n, sc = c.m * c.n;
    const Tensor a = randn({c.shift + c.batch * sa}, 51, DType::f32);
    const Tensor b = randn({c.shift + (c.share_b ? 1 : c.batch) * c.k * c.n}, 52, DType::f32);
    const Tensor c0 = randn({c.shift + c.batch * sc}, 53, DType::f32);
    const std::vector<double> want = reference(c, a.to_vector<float>(), b.to_vector<float>(), c0.to_vector<float>(),
                                               lda, ldb, sa, sb, sc);
    const Tensor ga = a.to(kGpu), gb = b.to(kGpu);
    auto run = [&](bool lt) {
      cu::set_cublaslt_enabled(lt);
      Tensor out = c0.to(kGpu);
      const float* pa = ga.data<float>() + c.shift;
      const float* pb = gb.data<float>() + c.shift;
      float* pc = out.data<float>() + c.shift;
      if (c.batch == 1 && c.beta != 0.0f)
        cu::gemm(0, DType::f32, c.ta, c.tb, c.m, c.n, c.k, pa, lda, pb, ldb, pc, c.m, c.beta);
      else
        cu::gemm_strided_batched(0, DType::f32, c.m, c.n, c.k, pa, lda, sa, pb, ldb, sb, pc, c.m, sc, c.batch, c.ta,
                                 c.tb);
      cu::set_cublaslt_enabled(before);
      return out.to(kCpu);
    };
    eng::OpTrace trace;
    const Tensor lt = run(true), lt_again = run(true);
    CHECK(trace.section_counts().count("cublas: gemm") == 0);  // cuBLASLt served every call
    CHECK(trace.section_counts().at("cublasLt: lookup and matmul") == 2);
    const Tensor classic = run(false);
    CHECK(trace.section_counts().at("cublas: gemm") == 1);
    CHECK(same(lt_again, lt));
    const Tensor ref = Tensor::from_vector<double>(want, {(int64_t)want.size()}).to(DType::f32);
    // f32 accumulation in another order than the double loop: a few ulp times sqrt(k).
    CHECK(rel_err(lt, ref) <= 1e-5);
    CHECK(rel_err(classic, ref) <= 1e-5);
    CHECK(rel_err(lt, classic) <= 1e-5);
  }
#endif
}

}  // TEST_SUITE
