#include "data/metrics/confusion.h"

#include <algorithm>

#include "data/metrics/summation.h"

namespace cuttle::data::metrics {

double adaptive_threshold(const PreparedImage& im) { return std::min(2.0 * numpy_mean(im.pred), 1.0); }

Counts counts_at(const PreparedImage& im, double t, bool strict) {
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < im.pred.size(); ++i) {
    const bool on = strict ? im.pred[i] > t : im.pred[i] >= t;
    if (on) (im.gt[i] ? tp : fp) += 1;
  }
  return Counts{(double)tp, (double)fp, (double)im.fg, (double)im.numel()};
}

std::array<Counts, kThresholds> sweep_counts(const PreparedImage& im) {
  std::array<int64_t, kThresholds> hist_fg{}, hist_bg{};
  for (size_t i = 0; i < im.sweep.size(); ++i) (im.gt[i] ? hist_fg : hist_bg)[im.sweep[i]] += 1;
  std::array<Counts, kThresholds> out;
  int64_t tp = 0, fp = 0;
  for (int i = 0; i < kThresholds; ++i) {  // threshold 255 - i: cumulate the histograms from the top
    tp += hist_fg[(size_t)(255 - i)];
    fp += hist_bg[(size_t)(255 - i)];
    out[(size_t)i] = Counts{(double)tp, (double)fp, (double)im.fg, (double)im.numel()};
  }
  return out;
}

}  // namespace cuttle::data::metrics
