// Defines cpu::gemm_tile: C += op(A) op(B) for one strided tile, on the calling thread only.
// Eigen's own GEMM threading re-derives its depth blocking from the thread count, which changes the
// summation order; calling its block-panel kernel with single-thread blocking keeps each tile's
// rounding a function of the tile alone, and callers spread fixed tiles over threads themselves.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

namespace cuttle::engine::cpu {

// A logical R x C matrix stored with a unit stride along one axis: row-major (element (r, c) at
// p[r * ld + c]) or column-major (at p[c * ld + r]).
template <typename T>
struct MatRef {
  const T* p = nullptr;
  int64_t ld = 1;
  bool col_major = false;
};

namespace detail {
template <typename T, int LhsOrder, int RhsOrder>
void gemm_tile_impl(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                    int64_t ldc) {
  using Index = Eigen::Index;
  Eigen::internal::gemm_blocking_space<Eigen::RowMajor, T, T, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic>
      blocking(m, n, k, 1, true);
#if EIGEN_VERSION_AT_LEAST(3, 3, 90)
  Eigen::internal::general_matrix_matrix_product<Index, T, LhsOrder, false, T, RhsOrder, false, Eigen::RowMajor, 1>::run(
      m, n, k, a, lda, b, ldb, c, 1, ldc, T(1), blocking, nullptr);
#else
  Eigen::internal::general_matrix_matrix_product<Index, T, LhsOrder, false, T, RhsOrder, false, Eigen::RowMajor>::run(
      m, n, k, a, lda, b, ldb, c, ldc, T(1), blocking, nullptr);
#endif
}
}  // namespace detail

// c (row-major, leading dimension ldc) += A[m, k] B[k, n]. Never starts threads.
template <typename T>
void gemm_tile(int64_t m, int64_t n, int64_t k, const MatRef<T>& A, const MatRef<T>& B, T* c, int64_t ldc) {
  if (m == 0 || n == 0 || k == 0) return;
  constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
  if (!A.col_major && !B.col_major) detail::gemm_tile_impl<T, R, R>(m, n, k, A.p, A.ld, B.p, B.ld, c, ldc);
  else if (!A.col_major) detail::gemm_tile_impl<T, R, C>(m, n, k, A.p, A.ld, B.p, B.ld, c, ldc);
  else if (!B.col_major) detail::gemm_tile_impl<T, C, R>(m, n, k, A.p, A.ld, B.p, B.ld, c, ldc);
  else detail::gemm_tile_impl<T, C, C>(m, n, k, A.p, A.ld, B.p, B.ld, c, ldc);
}

}  // namespace cuttle::engine::cpu
