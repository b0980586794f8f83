// Declares the weighted F-measure F^w_beta (Margolin et al., CVPR 2014, beta^2 = 1) as METRICS.md
// defines it: error propagated from the nearest foreground pixel, 7x7 Gaussian (sigma 5) smoothing
// with zero padding, distance-based importance off the object.
#pragma once
#include "data/metrics/prepare.h"

namespace cuttle::data::metrics {

double weighted_fmeasure(const PreparedImage& im);  // 0 when G is empty

}  // namespace cuttle::data::metrics
