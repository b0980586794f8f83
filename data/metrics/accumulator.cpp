#include "data/metrics/accumulator.h"

#include <algorithm>

#include "data/metrics/summation.h"
#include "engine/error.h"

namespace cuttle::data::metrics {

namespace {

// np.mean over the images of one scalar field.
template <typename Get>
double mean_over(const std::vector<ImageMetrics>& images, Get get) {
  std::vector<double> v;
  v.reserve(images.size());
  for (const ImageMetrics& m : images) v.push_back(get(m));
  return numpy_mean(v);
}

// np.mean(curves, axis=0): per index, the images added in order (numpy reduces an outer axis
// element by element, left to right).
Curve mean_curve(const std::vector<ImageMetrics>& images, Curve ImageMetrics::*field) {
  Curve out{};
  for (const ImageMetrics& m : images)
    for (size_t i = 0; i < out.size(); ++i) out[i] += (m.*field)[i];
  for (double& v : out) v /= (double)images.size();
  return out;
}

void mean_and_max(const Curve& c, double& mean, double& max) {
  mean = numpy_sum(c.data(), (int64_t)c.size()) / (double)c.size();
  max = *std::max_element(c.begin(), c.end());
}

}  // namespace

DatasetMetrics MetricsAccumulator::result() const {
  CUTTLE_CHECK(!images_.empty(), "MetricsAccumulator::result: no image was added");
  DatasetMetrics d;
  d.images = count();
  d.sm = mean_over(images_, [](const ImageMetrics& m) { return m.sm; });
  d.wfm = mean_over(images_, [](const ImageMetrics& m) { return m.wfm; });
  d.mae = mean_over(images_, [](const ImageMetrics& m) { return m.mae; });
  d.adp_em = mean_over(images_, [](const ImageMetrics& m) { return m.adp_em; });
  d.adp_fm = mean_over(images_, [](const ImageMetrics& m) { return m.adp_fm; });
  d.adp_iou = mean_over(images_, [](const ImageMetrics& m) { return m.adp_iou; });
  d.adp_dice = mean_over(images_, [](const ImageMetrics& m) { return m.adp_dice; });
  d.bin_iou = mean_over(images_, [](const ImageMetrics& m) { return m.bin_iou; });
  d.bin_dice = mean_over(images_, [](const ImageMetrics& m) { return m.bin_dice; });
  d.em_curve = mean_curve(images_, &ImageMetrics::em_curve);
  d.fm_curve = mean_curve(images_, &ImageMetrics::fm_curve);
  d.iou_curve = mean_curve(images_, &ImageMetrics::iou_curve);
  d.dice_curve = mean_curve(images_, &ImageMetrics::dice_curve);
  mean_and_max(d.em_curve, d.mean_em, d.max_em);
  mean_and_max(d.fm_curve, d.mean_fm, d.max_fm);
  mean_and_max(d.iou_curve, d.mean_iou, d.max_iou);
  mean_and_max(d.dice_curve, d.mean_dice, d.max_dice);
  return d;
}

nlohmann::json to_json(const DatasetMetrics& d, bool with_curves) {
  nlohmann::json j = {
      {"Smeasure", d.sm},        {"wFmeasure", d.wfm},      {"MAE", d.mae},          {"adpEm", d.adp_em},
      {"meanEm", d.mean_em},     {"maxEm", d.max_em},       {"adpFm", d.adp_fm},     {"meanFm", d.mean_fm},
      {"maxFm", d.max_fm},       {"adpIoU", d.adp_iou},     {"meanIoU", d.mean_iou}, {"maxIoU", d.max_iou},
      {"binIoU", d.bin_iou},     {"adpDice", d.adp_dice},   {"meanDice", d.mean_dice}, {"maxDice", d.max_dice},
      {"binDice", d.bin_dice},
  };
  if (with_curves)
    j["curves"] = {{"Em", d.em_curve}, {"Fm", d.fm_curve}, {"IoU", d.iou_curve}, {"Dice", d.dice_curve}};
  return j;
}

}  // namespace cuttle::data::metrics
