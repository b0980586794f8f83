#include "engine/cpu/gemm.h"

namespace cuttle::engine::cpu {

void disable_eigen_threads() {
  static const bool done = [] {
    Eigen::setNbThreads(1);
    return true;
  }();
  (void)done;
}

void gemm_tiling(int64_t m, int64_t n, int64_t& tile_rows, int64_t& tile_cols) {
  constexpr int64_t kMinTiles = 16;
  tile_rows = 192;
  tile_cols = 256;
  auto tiles = [&] { return ((m + tile_rows - 1) / tile_rows) * ((n + tile_cols - 1) / tile_cols); };
  while (tiles() < kMinTiles && (tile_cols > 64 || tile_rows > 48)) {
    // Halve the side that is longer relative to its floor, as long as it still cuts the output.
    if (tile_cols > 64 && n > tile_cols / 2) tile_cols /= 2;
    else if (tile_rows > 48 && m > tile_rows / 2) tile_rows /= 2;
    else break;
  }
}

}  // namespace cuttle::engine::cpu
