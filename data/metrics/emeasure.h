// Declares the enhanced-alignment measure E (Fan et al., IJCAI 2018) of a binary map, computed in
// closed form from its counts (METRICS.md), and the adaptive value and 256-point curve of an image.
#pragma once
#include "data/metrics/confusion.h"

namespace cuttle::data::metrics {

double emeasure(const Counts& c);
double adaptive_emeasure(const PreparedImage& im);
Curve emeasure_curve(const std::array<Counts, kThresholds>& sweep);

}  // namespace cuttle::data::metrics
