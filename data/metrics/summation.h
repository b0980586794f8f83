// Defines numpy_sum: sums doubles in the order numpy's np.sum / np.mean do for a contiguous float64
// array (pairwise summation, 8 accumulators per block of at most 128), so that means and sums agree
// with the reference bit for bit and thresholds such as 2 * mean(P) fall on the same side of a pixel.
#pragma once
#include <cstdint>
#include <vector>

namespace cuttle::data::metrics {

double numpy_sum(const double* x, int64_t n);
inline double numpy_sum(const std::vector<double>& x) { return numpy_sum(x.data(), (int64_t)x.size()); }
// np.sum of a non-contiguous view (a quadrant of an image): numpy copies it through a buffer of
// 8192 elements and adds the pairwise sum of each buffer to the running total.
double numpy_sum_buffered(const std::vector<double>& x);
// numpy_sum / n; 0/0 gives NaN as numpy does for an empty array.
inline double numpy_mean(const std::vector<double>& x) { return numpy_sum(x) / (double)x.size(); }

}  // namespace cuttle::data::metrics
