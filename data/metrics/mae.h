// Declares the mean absolute error between P and G.
#pragma once
#include "data/metrics/prepare.h"

namespace cuttle::data::metrics {

double mae(const PreparedImage& im);

}  // namespace cuttle::data::metrics
