#include "data/metrics/summation.h"

#include <algorithm>

namespace cuttle::data::metrics {

// The recursion: fewer than 8 values are added left to right; up to 128 go into 8 interleaved partial
// sums combined as ((r0+r1)+(r2+r3)) + ((r4+r5)+(r6+r7)), the remainder added after; more are split
// at half the count rounded down to a multiple of 8.
double numpy_sum(const double* x, int64_t n) {
  if (n < 8) {
    double s = 0.0;  // numpy starts from -0.0; the sign of a zero sum does not matter here
    for (int64_t i = 0; i < n; ++i) s += x[i];
    return s;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = x[k];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int k = 0; k < 8; ++k) r[k] += x[i + k];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) s += x[i];
    return s;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return numpy_sum(x, half) + numpy_sum(x + half, n - half);
}

double numpy_sum_buffered(const std::vector<double>& x) {
  constexpr int64_t kBuffer = 8192;
  const int64_t n = (int64_t)x.size();
  double s = 0.0;
  for (int64_t b = 0; b < n; b += kBuffer) s += numpy_sum(x.data() + b, std::min(kBuffer, n - b));
  return s;
}

}  // namespace cuttle::data::metrics
