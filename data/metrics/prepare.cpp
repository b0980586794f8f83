#include "data/metrics/prepare.h"

#include <algorithm>

#include "engine/error.h"

namespace cuttle::data::metrics {

PreparedImage prepare(const uint8_t* pred_u8, int64_t pred_h, int64_t pred_w, const uint8_t* gt_u8, int64_t gt_h,
                      int64_t gt_w) {
  CUTTLE_CHECK(pred_h == gt_h && pred_w == gt_w, "metrics: prediction is ", pred_h, "x", pred_w, " but the mask is ",
               gt_h, "x", gt_w, " (resize the prediction to the mask size before evaluating)");
  CUTTLE_CHECK(gt_h > 0 && gt_w > 0, "metrics: empty image ", gt_h, "x", gt_w);
  PreparedImage im;
  im.height = gt_h;
  im.width = gt_w;
  const int64_t n = gt_h * gt_w;
  im.pred.resize((size_t)n);
  im.gt.resize((size_t)n);
  im.sweep.resize((size_t)n);
  uint8_t lo = 255, hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, pred_u8[i]);
    hi = std::max(hi, pred_u8[i]);
    im.gt[(size_t)i] = gt_u8[i] > 128;
    im.fg += im.gt[(size_t)i];
  }
  // The same double operations as the reference (divide by 255 first, then normalise), so that
  // floor(P * 255) lands on the same integers.
  const double mn = lo / 255.0, mx = hi / 255.0, range = mx - mn;
  for (int64_t i = 0; i < n; ++i) {
    double p = pred_u8[i] / 255.0;
    if (hi != lo) p = (p - mn) / range;
    im.pred[(size_t)i] = p;
    im.sweep[(size_t)i] = (uint8_t)(p * 255.0);
  }
  return im;
}

PreparedImage prepare(const Image& pred, const Image& gt) {
  CUTTLE_CHECK(pred.channels == 1, "metrics: the prediction must have one channel, got ", pred.channels);
  CUTTLE_CHECK(gt.channels == 1, "metrics: the mask must have one channel, got ", gt.channels);
  return prepare(pred.pixels.data(), pred.height, pred.width, gt.pixels.data(), gt.height, gt.width);
}

}  // namespace cuttle::data::metrics
