#include "data/metrics/weighted_fmeasure.h"

#include <array>
#include <cmath>
#include <vector>

#include "data/metrics/edt.h"
#include "data/metrics/summation.h"
#include "engine/parallel.h"

namespace cuttle::data::metrics {

namespace {

constexpr int kRadius = 3;  // 7x7
constexpr int kTaps = 2 * kRadius + 1;
using Kernel = std::array<double, kTaps * kTaps>;

// MATLAB's fspecial('gaussian', 7, 5): exp(-(x^2+y^2)/(2 sigma^2)), values below eps * max zeroed
// (none are for sigma 5), normalised to sum 1.
Kernel gaussian_kernel() {
  constexpr double sigma = 5.0;
  Kernel k;
  double mx = 0.0;
  for (int y = -kRadius; y <= kRadius; ++y)
    for (int x = -kRadius; x <= kRadius; ++x) {
      const double v = std::exp(-(double)(x * x + y * y) / (2.0 * sigma * sigma));
      k[(size_t)((y + kRadius) * kTaps + x + kRadius)] = v;
      mx = std::max(mx, v);
    }
  double sum = 0.0;
  for (double& v : k) {
    if (v < kEps * mx) v = 0.0;
    sum += v;
  }
  for (double& v : k) v /= sum;
  return k;
}

// Same-size 2-D convolution with zero padding (the kernel is symmetric, so correlation is the same).
std::vector<double> convolve_zero_pad(const std::vector<double>& src, int64_t H, int64_t W, const Kernel& k) {
  std::vector<double> out((size_t)(H * W));
  engine::parallel_for(0, H, 8, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < W; ++x) {
        double s = 0.0;
        for (int dy = -kRadius; dy <= kRadius; ++dy) {
          const int64_t yy = y + dy;
          if (yy < 0 || yy >= H) continue;
          for (int dx = -kRadius; dx <= kRadius; ++dx) {
            const int64_t xx = x + dx;
            if (xx < 0 || xx >= W) continue;
            s += k[(size_t)((dy + kRadius) * kTaps + dx + kRadius)] * src[(size_t)(yy * W + xx)];
          }
        }
        out[(size_t)(y * W + x)] = s;
      }
  });
  return out;
}

}  // namespace

double weighted_fmeasure(const PreparedImage& im) {
  if (im.fg == 0) return 0.0;
  const int64_t H = im.height, W = im.width, N = H * W;
  const DistanceTransform dt = distance_to_foreground(im.gt, H, W);
  std::vector<double> err((size_t)N), err_t((size_t)N);
  for (int64_t i = 0; i < N; ++i) err[(size_t)i] = std::abs(im.pred[(size_t)i] - (double)im.gt[(size_t)i]);
  // Pixel dependency: off the object, take the error at the nearest object pixel.
  for (int64_t i = 0; i < N; ++i)
    err_t[(size_t)i] = im.gt[(size_t)i]
                           ? err[(size_t)i]
                           : err[(size_t)(dt.nearest_row[(size_t)i] * W + dt.nearest_col[(size_t)i])];
  static const Kernel kernel = gaussian_kernel();
  const std::vector<double> smoothed = convolve_zero_pad(err_t, H, W, kernel);
  // On the object the smaller of the error and its smoothed value; off it, the error weighted by
  // 2 - 0.5^(D/5) (pixels further from the object count more).
  const double decay = std::log(0.5) / 5.0;
  std::vector<double> on_fg, on_bg;
  on_fg.reserve((size_t)im.fg);
  on_bg.reserve((size_t)(N - im.fg));
  for (int64_t i = 0; i < N; ++i) {
    const size_t j = (size_t)i;
    if (im.gt[j]) {
      on_fg.push_back(smoothed[j] < err[j] ? smoothed[j] : err[j]);
    } else {
      on_bg.push_back(err[j] * (2.0 - std::exp(decay * dt.distance[j])));
    }
  }
  const double tp_w = (double)im.fg - numpy_sum(on_fg);
  const double fp_w = numpy_sum(on_bg);
  const double recall = 1.0 - numpy_mean(on_fg);
  const double precision = tp_w / (tp_w + fp_w + kEps);
  return 2.0 * recall * precision / (recall + precision + kEps);
}

}  // namespace cuttle::data::metrics
