#include "data/metrics/image_metrics.h"

#include "data/metrics/emeasure.h"
#include "data/metrics/fmeasure.h"
#include "data/metrics/mae.h"
#include "data/metrics/smeasure.h"
#include "data/metrics/weighted_fmeasure.h"

namespace cuttle::data::metrics {

ImageMetrics evaluate_image(const PreparedImage& im) {
  ImageMetrics m;
  m.sm = smeasure(im);
  m.wfm = weighted_fmeasure(im);
  m.mae = mae(im);
  const Counts adaptive = counts_at(im, adaptive_threshold(im));
  m.adp_em = emeasure(adaptive);
  m.adp_fm = fmeasure(adaptive);
  m.adp_iou = iou(adaptive);
  m.adp_dice = dice(adaptive);
  const Counts binary = counts_at(im, 0.5, /*strict=*/true);
  m.bin_iou = iou(binary);
  m.bin_dice = dice(binary);
  const auto sweep = sweep_counts(im);
  m.em_curve = emeasure_curve(sweep);
  m.fm_curve = fmeasure_curve(sweep);
  m.iou_curve = iou_curve(sweep);
  m.dice_curve = dice_curve(sweep);
  return m;
}

ImageMetrics evaluate_image(const Image& pred, const Image& gt) { return evaluate_image(prepare(pred, gt)); }

}  // namespace cuttle::data::metrics
