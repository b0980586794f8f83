// Declares the scores of a binary map from its counts: F-measure (beta^2 = 0.3), IoU and Dice, with
// the reference's conventions for empty denominators (METRICS.md), and their 256-point curves.
#pragma once
#include "data/metrics/confusion.h"

namespace cuttle::data::metrics {

double fmeasure(const Counts& c);  // 0 when tp = 0
double iou(const Counts& c);       // tp / (tp + fp + fn), 0 when that is 0/0
double dice(const Counts& c);      // 2tp / (2tp + fn + fp), 0 when that is 0/0

Curve fmeasure_curve(const std::array<Counts, kThresholds>& sweep);
Curve iou_curve(const std::array<Counts, kThresholds>& sweep);
Curve dice_curve(const std::array<Counts, kThresholds>& sweep);

}  // namespace cuttle::data::metrics
