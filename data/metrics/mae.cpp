#include "data/metrics/mae.h"

#include <cmath>

#include "data/metrics/summation.h"

namespace cuttle::data::metrics {

double mae(const PreparedImage& im) {
  std::vector<double> err(im.pred.size());
  for (size_t i = 0; i < err.size(); ++i) err[i] = std::abs(im.pred[i] - (double)im.gt[i]);
  return numpy_mean(err);
}

}  // namespace cuttle::data::metrics
