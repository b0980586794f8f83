// Defines cpu::gemm: C = op(A) * op(B) (or C += ...) on row-major matrices through Eigen, with the
// reduction dimension cut into fixed slices so the rounding never depends on the thread count.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cstdint>

namespace cuttle::engine::cpu {

// Eigen shortens its depth blocking when it runs multi-threaded, which changes the summation order.
// A slice this short is never split again by Eigen (its depth block is >= 240 for an L1 of 32 KiB or
// more), so every element sums the slices in the same order whatever the thread count.
constexpr int64_t kGemmDepthSlice = 128;

// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are the row strides of the stored matrices.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using In = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  using Out = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
  if (m == 0 || n == 0) return;
  Out C(c, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (!accumulate) C.setZero();
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kGemmDepthSlice) {
    const int64_t kk = std::min(kGemmDepthSlice, k - k0);
    const bool add = accumulate || k0 > 0;
    auto run = [&](const auto& A, const auto& B) {
      if (add) C.noalias() += A * B;
      else C.noalias() = A * B;
    };
    // Stored A is m x k (or k x m when transposed); stored B is k x n (or n x k).
    const Eigen::OuterStride<> sa(lda), sb(ldb);
    if (!trans_a && !trans_b) run(In(a + k0, m, kk, sa), In(b + k0 * ldb, kk, n, sb));
    else if (!trans_a) run(In(a + k0, m, kk, sa), In(b + k0, n, kk, sb).transpose());
    else if (!trans_b) run(In(a + k0 * lda, kk, m, sa).transpose(), In(b + k0 * ldb, kk, n, sb));
    else run(In(a + k0 * lda, kk, m, sa).transpose(), In(b + k0, n, kk, sb).transpose());
  }
}

}  // namespace cuttle::engine::cpu
