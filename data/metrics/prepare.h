// Defines PreparedImage, the evaluation inputs after the reference's preprocessing (METRICS.md):
// GT = gt_u8 > 128, P = pred_u8 / 255 min-max normalised unless constant, and the 8-bit sweep map.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "data/image.h"

namespace cuttle::data::metrics {

constexpr double kEps = 2.220446049250313e-16;  // np.spacing(1)
constexpr int kThresholds = 256;
// curve[i] is the value at threshold t = 255 - i on the sweep map (pred_u8 >= t).
using Curve = std::array<double, kThresholds>;

struct PreparedImage {
  int64_t height = 0, width = 0;
  std::vector<double> pred;    // P in [0, 1], row-major
  std::vector<uint8_t> gt;     // 1 = foreground
  std::vector<uint8_t> sweep;  // floor(P * 255), the map the 256 thresholds binarise
  int64_t fg = 0;              // |G|
  int64_t numel() const { return height * width; }
};

// From raw 8-bit maps of one size. Throws when the sizes differ or are empty.
PreparedImage prepare(const uint8_t* pred_u8, int64_t pred_h, int64_t pred_w, const uint8_t* gt_u8, int64_t gt_h,
                      int64_t gt_w);
// From one-channel images; throws on other channel counts or a size mismatch (metrics never resize).
PreparedImage prepare(const Image& pred, const Image& gt);

}  // namespace cuttle::data::metrics
