// Declares the exact Euclidean distance transform with feature indices: for every pixel, the nearest
// foreground pixel and the distance to it, picking the same pixel as scipy.ndimage's
// distance_transform_edt(..., return_indices=True) among equally near ones (weighted F depends on it).
#pragma once
#include <cstdint>
#include <vector>

namespace cuttle::data::metrics {

struct DistanceTransform {
  int64_t height = 0, width = 0;
  std::vector<double> distance;      // Euclidean distance to the nearest foreground pixel (0 on it)
  std::vector<int32_t> nearest_row;  // that pixel's row and column
  std::vector<int32_t> nearest_col;
};

// fg: row-major 0/1 map with at least one foreground pixel (throws otherwise).
DistanceTransform distance_to_foreground(const std::vector<uint8_t>& fg, int64_t height, int64_t width);

}  // namespace cuttle::data::metrics
