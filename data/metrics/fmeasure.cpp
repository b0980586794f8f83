#include "data/metrics/fmeasure.h"

#include <algorithm>

namespace cuttle::data::metrics {

namespace {

constexpr double kBeta2 = 0.3;

template <typename Fn>
Curve curve_of(const std::array<Counts, kThresholds>& sweep, Fn fn) {
  Curve out;
  for (int i = 0; i < kThresholds; ++i) out[(size_t)i] = fn(sweep[(size_t)i]);
  return out;
}

}  // namespace

double fmeasure(const Counts& c) {
  if (c.tp == 0) return 0.0;
  const double precision = c.tp / (c.tp + c.fp);
  const double recall = c.tp / c.fg;
  return (1.0 + kBeta2) * precision * recall / (kBeta2 * precision + recall);
}

double iou(const Counts& c) {
  const double denom = c.tp + c.fp + c.fn();
  return denom == 0 ? 0.0 : c.tp / denom;
}

double dice(const Counts& c) {
  const double denom = c.tp + c.fn() + c.tp + c.fp;
  return denom == 0 ? 0.0 : 2.0 * c.tp / denom;
}

Curve fmeasure_curve(const std::array<Counts, kThresholds>& sweep) { return curve_of(sweep, fmeasure); }
Curve iou_curve(const std::array<Counts, kThresholds>& sweep) { return curve_of(sweep, iou); }
Curve dice_curve(const std::array<Counts, kThresholds>& sweep) { return curve_of(sweep, dice); }

}  // namespace cuttle::data::metrics
