// Declares the structure measure S (Fan et al., ICCV 2017, alpha = 0.5) as METRICS.md defines it.
//
// Empty quadrant: when the foreground centroid falls in the last column (or row) the right (or bottom)
// quadrants are empty. The reference then takes the mean of an empty array and returns NaN; cuttle
// returns that quadrant's term as 0 instead. Its weight is (W - X) * Y / N = 0 (or the row analogue)
// anyway, so S stays the weighted sum of the non-empty quadrants and the dataset mean stays finite.
#pragma once
#include "data/metrics/prepare.h"

namespace cuttle::data::metrics {

double smeasure(const PreparedImage& im);

}  // namespace cuttle::data::metrics
