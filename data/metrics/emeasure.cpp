#include "data/metrics/emeasure.h"

namespace cuttle::data::metrics {

namespace {

// enhanced alignment of one (demeaned prediction, demeaned GT) value pair
double enhanced(double a, double c) {
  const double align = 2.0 * (a * c) / (a * a + c * c + kEps);
  return (align + 1.0) * (align + 1.0) / 4.0;
}

}  // namespace

double emeasure(const Counts& c) {
  const double pred_fg = c.tp + c.fp, pred_bg = c.n - pred_fg;
  double sum;
  if (c.fg == 0) {
    sum = pred_bg;  // every pixel aligns where the map is 0
  } else if (c.fg == c.n) {
    sum = pred_fg;
  } else {
    const double mean_pred = pred_fg / c.n, mean_gt = c.fg / c.n;
    const double pf = 1.0 - mean_pred, pb = 0.0 - mean_pred, gf = 1.0 - mean_gt, gb = 0.0 - mean_gt;
    const double bg_fg = c.fg - c.tp;       // predicted background on G
    const double bg_bg = pred_bg - bg_fg;   // predicted background off G
    // The four parts in the reference's order: (fg,fg), (fg,bg), (bg,fg), (bg,bg).
    sum = 0.0;
    sum += enhanced(pf, gf) * c.tp;
    sum += enhanced(pf, gb) * c.fp;
    sum += enhanced(pb, gf) * bg_fg;
    sum += enhanced(pb, gb) * bg_bg;
  }
  return sum / (c.n - 1.0 + kEps);
}

double adaptive_emeasure(const PreparedImage& im) { return emeasure(counts_at(im, adaptive_threshold(im))); }

Curve emeasure_curve(const std::array<Counts, kThresholds>& sweep) {
  Curve curve;
  for (int i = 0; i < kThresholds; ++i) curve[(size_t)i] = emeasure(sweep[(size_t)i]);
  return curve;
}

}  // namespace cuttle::data::metrics
