#include "data/metrics/smeasure.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/metrics/summation.h"

namespace cuttle::data::metrics {

namespace {

constexpr double kAlpha = 0.5;

// O(x) = 2 mean / (mean^2 + 1 + std + eps), std with n - 1; 0 for no pixels, std 0 for one.
double object_score(const std::vector<double>& x) {
  if (x.empty()) return 0.0;
  const double mean = numpy_mean(x);
  double sd = 0.0;
  if (x.size() > 1) {
    std::vector<double> sq(x.size());
    for (size_t i = 0; i < x.size(); ++i) sq[i] = (x[i] - mean) * (x[i] - mean);
    sd = std::sqrt(numpy_sum(sq) / (double)(x.size() - 1));
  }
  return 2.0 * mean / (mean * mean + 1.0 + sd + kEps);
}

double object_term(const PreparedImage& im) {
  std::vector<double> on_fg, on_bg;
  on_fg.reserve((size_t)im.fg);
  on_bg.reserve((size_t)(im.numel() - im.fg));
  for (size_t i = 0; i < im.pred.size(); ++i) {
    if (im.gt[i]) on_fg.push_back(im.pred[i]);
    else on_bg.push_back(1.0 - im.pred[i]);
  }
  const double u = (double)im.fg / (double)im.numel();
  return u * object_score(on_fg) + (1.0 - u) * object_score(on_bg);
}

// SSIM-like agreement of one quadrant [y0,y1) x [x0,x1); 0 for an empty quadrant (see smeasure.h).
double quadrant_score(const PreparedImage& im, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
  const int64_t n = (y1 - y0) * (x1 - x0);
  if (n <= 0) return 0.0;
  std::vector<double> p, g;
  p.reserve((size_t)n);
  g.reserve((size_t)n);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      p.push_back(im.pred[(size_t)(y * im.width + x)]);
      g.push_back(im.gt[(size_t)(y * im.width + x)]);
    }
  // A quadrant is a strided view in the reference unless it spans whole rows (or is one row).
  const bool contiguous = (x1 - x0) == im.width || (y1 - y0) == 1;
  const double mx = (contiguous ? numpy_sum(p) : numpy_sum_buffered(p)) / (double)n;
  const double my = numpy_sum(g) / (double)n;  // sums of 0/1 are exact in any order
  std::vector<double> dxx((size_t)n), dyy((size_t)n), dxy((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    const double a = p[(size_t)i] - mx, b = g[(size_t)i] - my;
    dxx[(size_t)i] = a * a;
    dyy[(size_t)i] = b * b;
    dxy[(size_t)i] = a * b;
  }
  const double denom = (double)(n - 1) + kEps;
  const double sx2 = numpy_sum(dxx) / denom, sy2 = numpy_sum(dyy) / denom, sxy = numpy_sum(dxy) / denom;
  const double a = 4.0 * mx * my * sxy;
  const double b = (mx * mx + my * my) * (sx2 + sy2);
  if (a != 0.0) return a / (b + kEps);
  return b == 0.0 ? 1.0 : 0.0;
}

double region_term(const PreparedImage& im) {
  const int64_t H = im.height, W = im.width, N = H * W;
  // Centroid of the foreground (there is some: the callers handle |G| = 0), rounded half to even.
  int64_t sum_r = 0, sum_c = 0;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      if (im.gt[(size_t)(y * W + x)]) sum_r += y, sum_c += x;
  const int64_t X = (int64_t)std::nearbyint((double)sum_c / (double)im.fg) + 1;
  const int64_t Y = (int64_t)std::nearbyint((double)sum_r / (double)im.fg) + 1;
  const double w1 = (double)(X * Y) / (double)N;
  const double w2 = (double)(Y * (W - X)) / (double)N;
  const double w3 = (double)((H - Y) * X) / (double)N;
  const double w4 = 1.0 - w1 - w2 - w3;
  return w1 * quadrant_score(im, 0, Y, 0, X) + w2 * quadrant_score(im, 0, Y, X, W) +
         w3 * quadrant_score(im, Y, H, 0, X) + w4 * quadrant_score(im, Y, H, X, W);
}

}  // namespace

double smeasure(const PreparedImage& im) {
  const double y = (double)im.fg / (double)im.numel();
  if (y == 0.0) return 1.0 - numpy_mean(im.pred);
  if (y == 1.0) return numpy_mean(im.pred);
  return std::max(0.0, kAlpha * object_term(im) + (1.0 - kAlpha) * region_term(im));
}

}  // namespace cuttle::data::metrics
