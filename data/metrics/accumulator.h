// Defines MetricsAccumulator, which averages ImageMetrics over a dataset as PySODMetrics does (the
// curves are averaged first, then meanX = mean of the averaged curve and maxX = its maximum), and
// DatasetMetrics, the result, with its JSON form under PySODMetrics' key names.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/metrics/image_metrics.h"

namespace cuttle::data::metrics {

struct DatasetMetrics {
  int64_t images = 0;
  double sm = 0, wfm = 0, mae = 0;
  double adp_em = 0, mean_em = 0, max_em = 0;
  double adp_fm = 0, mean_fm = 0, max_fm = 0;
  double adp_iou = 0, mean_iou = 0, max_iou = 0, bin_iou = 0;
  double adp_dice = 0, mean_dice = 0, max_dice = 0, bin_dice = 0;
  Curve em_curve{}, fm_curve{}, iou_curve{}, dice_curve{};  // averaged over the images
};

class MetricsAccumulator {
 public:
  // Images are averaged in the order they are added (the result is deterministic for a fixed order).
  void add(const ImageMetrics& m) { images_.push_back(m); }
  int64_t count() const { return (int64_t)images_.size(); }
  // Throws when no image was added.
  DatasetMetrics result() const;

 private:
  std::vector<ImageMetrics> images_;
};

// {"Smeasure", "wFmeasure", "MAE", "adpEm", "meanEm", "maxEm", "adpFm", "meanFm", "maxFm", "adpIoU",
//  "meanIoU", "maxIoU", "binIoU", "adpDice", "meanDice", "maxDice", "binDice"}; with_curves adds
// "curves": {"Em", "Fm", "IoU", "Dice"} (index i = threshold 255 - i).
nlohmann::json to_json(const DatasetMetrics& d, bool with_curves = false);

}  // namespace cuttle::data::metrics
