// Defines ImageMetrics, every per-image value of METRICS.md (S, weighted F, MAE, adaptive and binary
// scores, the four 256-point curves), and evaluate_image, which computes them.
#pragma once
#include "data/image.h"
#include "data/metrics/prepare.h"

namespace cuttle::data::metrics {

struct ImageMetrics {
  double sm = 0, wfm = 0, mae = 0;
  double adp_em = 0, adp_fm = 0, adp_iou = 0, adp_dice = 0;
  double bin_iou = 0, bin_dice = 0;  // map P > 0.5
  Curve em_curve{}, fm_curve{}, iou_curve{}, dice_curve{};
};

ImageMetrics evaluate_image(const PreparedImage& im);
// 8-bit prediction and mask of one size and one channel (throws otherwise).
ImageMetrics evaluate_image(const Image& pred, const Image& gt);

}  // namespace cuttle::data::metrics
