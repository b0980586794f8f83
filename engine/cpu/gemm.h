// Defines the CPU GEMM every op uses (matmul, linear, convolution): C (+)= op(A) op(B) on strided
// row-major or column-major matrices, cut into output tiles that threads share.
//
// Why tiles: Eigen re-derives its depth blocking from its thread count, which changes the summation
// order, so an Eigen product threaded by Eigen gives different bits for 1 and 2 threads. Here Eigen
// always runs single-threaded on one tile, the tiling is a function of the shapes alone, and
// parallel_for spreads the tiles, so results are identical whatever the thread count.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

#include "engine/parallel.h"

namespace cuttle::engine::cpu {

// A logical R x C matrix with a unit stride along one axis: row-major (element (r, c) at
// p[r * ld + c]) or column-major (at p[c * ld + r]). A transposed row-major matrix is column-major.
template <typename T>
struct MatRef {
  const T* p = nullptr;
  int64_t ld = 1;
  bool col_major = false;
  // The sub-matrix starting at (r0, c0).
  MatRef at(int64_t r0, int64_t c0) const { return {p + (col_major ? c0 * ld + r0 : r0 * ld + c0), ld, col_major}; }
};

// Eigen must never start threads of its own (see above); set once, before the first product.
void disable_eigen_threads();

// c[m x n] (row-major, leading dimension ldc) = A B, or += A B when accumulate. Single-threaded.
template <typename T>
void gemm_tile(int64_t m, int64_t n, int64_t k, const MatRef<T>& A, const MatRef<T>& B, T* c, int64_t ldc,
               bool accumulate) {
  using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<RowMat, 0, Stride> C(c, m, n, Stride(ldc));
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) C.setZero();
    return;
  }
  auto run = [&](const auto& a, const auto& b) {
    if (accumulate) C.noalias() += a * b;
    else C.noalias() = a * b;
  };
  auto row = [&](const MatRef<T>& r, int64_t rows, int64_t cols) {
    return Eigen::Map<const RowMat, 0, Stride>(r.p, rows, cols, Stride(r.ld));
  };
  auto col = [&](const MatRef<T>& r, int64_t rows, int64_t cols) {
    return Eigen::Map<const ColMat, 0, Stride>(r.p, rows, cols, Stride(r.ld));
  };
  if (!A.col_major && !B.col_major) run(row(A, m, k), row(B, k, n));
  else if (!A.col_major) run(row(A, m, k), col(B, k, n));
  else if (!B.col_major) run(col(A, m, k), row(B, k, n));
  else run(col(A, m, k), col(B, k, n));
}

// Output tile sizes for an m x n result: 192 x 256 (multiples of Eigen's register blocks), halved
// while that leaves fewer than 16 tiles, so small outputs still keep every thread busy. Depends on
// the shape only.
void gemm_tiling(int64_t m, int64_t n, int64_t& tile_rows, int64_t& tile_cols);

// For b in [0, batches): C_b (+)= A_b B_b, each [m x k] x [k x n] into row-major C_b at
// c + b * c_batch_stride. a_of(b) and b_of(b) return the operands' MatRefs. Tiles of all batches
// are spread over the threads together.
template <typename T, typename AOf, typename BOf>
void gemm_batched(int64_t batches, int64_t m, int64_t n, int64_t k, const AOf& a_of, const BOf& b_of, T* c,
                  int64_t c_batch_stride, int64_t ldc, bool accumulate) {
  if (batches == 0 || m == 0 || n == 0) return;
  disable_eigen_threads();
  int64_t tr, tc;
  gemm_tiling(m, n, tr, tc);
  const int64_t rows_tiles = (m + tr - 1) / tr, col_tiles = (n + tc - 1) / tc, per_batch = rows_tiles * col_tiles;
  const int64_t tile_work = std::min(m, tr) * std::min(n, tc) * std::max<int64_t>(k, 1);
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / std::max<int64_t>(tile_work, 1));
  parallel_for(0, batches * per_batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / per_batch, t = job % per_batch;
      const int64_t r0 = (t / col_tiles) * tr, c0 = (t % col_tiles) * tc;
      gemm_tile<T>(std::min(tr, m - r0), std::min(tc, n - c0), k, a_of(b).at(r0, 0), b_of(b).at(0, c0),
                   c + b * c_batch_stride + r0 * ldc + c0, ldc, accumulate);
    }
  });
}

// C[m x n] (+)= op(A) op(B) for stored row-major A (m x k, or k x m when trans_a) and B (k x n, or
// n x k when trans_b), threaded over tiles.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  const MatRef<T> A{a, lda, trans_a}, B{b, ldb, trans_b};
  gemm_batched<T>(1, m, n, k, [&](int64_t) { return A; }, [&](int64_t) { return B; }, c, 0, ldc, accumulate);
}

}  // namespace cuttle::engine::cpu
