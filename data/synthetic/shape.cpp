#include "data/synthetic/shape.h"

#include <algorithm>
#include <cmath>

namespace cuttle::data {

namespace {

// The outline radius factor at angle theta (shape frame), and its derivative.
void radius_factor(const ObjectShape& s, double theta, double& r, double& dr) {
  if (s.knots.empty()) {
    r = 1;
    dr = 0;
    for (size_t k = 0; k < s.amp.size(); ++k) {
      const double f = (double)(k + 2);
      r += s.amp[k] * std::cos(f * theta + s.phase[k]);
      dr -= s.amp[k] * f * std::sin(f * theta + s.phase[k]);
    }
    return;
  }
  const double n = (double)s.knots.size();
  double t = theta / (2 * M_PI) * n;
  t -= std::floor(t / n) * n;
  const size_t i = (size_t)t % s.knots.size(), j = (i + 1) % s.knots.size();
  const double f = t - std::floor(t);
  const double w = s.sharp ? f : 0.5 - 0.5 * std::cos(M_PI * f);
  const double dw = s.sharp ? 1 : 0.5 * M_PI * std::sin(M_PI * f);
  r = s.knots[i] + w * (s.knots[j] - s.knots[i]);
  dr = dw * (s.knots[j] - s.knots[i]) * n / (2 * M_PI);
}

}  // namespace

ObjectShape random_shape(SceneRng& rng, int64_t height, int64_t width, double area_fraction) {
  ObjectShape s;
  s.aspect = rng.chance(0.5) ? rng.uniform(1.0, 1.5) : rng.uniform(1.5, 3.2);
  s.rotation = rng.uniform(0, M_PI);
  if (rng.chance(0.6)) {
    const int harmonics = (int)rng.integer(1, 4);
    for (int k = 0; k < harmonics; ++k) {
      s.amp.push_back(rng.uniform(0.0, 0.28) / (1.0 + 0.5 * k));
      s.phase.push_back(rng.uniform(0, 2 * M_PI));
    }
  } else {
    const int n = (int)rng.integer(5, 12);
    for (int k = 0; k < n; ++k) s.knots.push_back(rng.uniform(0.6, 1.25));
    s.sharp = rng.chance(0.4);
  }
  // The stretch maps (x, y) to the shape frame with Jacobian 1, so the area is that of the unstretched
  // outline, pi r^2 mean(factor^2); solve r for the asked area.
  double mean_sq = 0;
  for (int i = 0; i < 64; ++i) {
    double r, dr;
    radius_factor(s, 2 * M_PI * i / 64, r, dr);
    mean_sq += r * r / 64;
  }
  s.radius = std::sqrt(area_fraction * (double)(height * width) / (M_PI * mean_sq));
  // Keep the centre so that most of the object is inside the image.
  const double reach = s.radius * std::sqrt(s.aspect) * 0.6;
  const double mx = std::min(reach, width * 0.45), my = std::min(reach, height * 0.45);
  s.cx = rng.uniform(mx, width - mx);
  s.cy = rng.uniform(my, height - my);
  return s;
}

double inside_distance(const ObjectShape& s, double x, double y) {
  // Into the shape frame: unrotate, unstretch (the aspect stretches the first axis).
  const double c = std::cos(s.rotation), sn = std::sin(s.rotation);
  const double dx = x - s.cx, dy = y - s.cy;
  const double stretch = std::sqrt(s.aspect);
  const double u = (c * dx + sn * dy) / stretch, v = (-sn * dx + c * dy) * stretch;
  const double rho = std::hypot(u, v), theta = std::atan2(v, u);
  double r, dr;
  radius_factor(s, theta, r, dr);
  const double edge = r * s.radius, slope = dr * s.radius;
  // Radial gap, corrected for the outline's slope. Shape-frame lengths map to between 1/stretch and
  // stretch pixels; the lower bound keeps the feathered edge at least as sharp as asked.
  const double d = (edge - rho) / std::sqrt(1.0 + (slope * slope) / std::max(edge * edge, 1e-9));
  return d / stretch;
}

void shape_bounds(const ObjectShape& s, double margin, int64_t height, int64_t width, int64_t& x0, int64_t& x1,
                  int64_t& y0, int64_t& y1) {
  const double reach = s.radius * 1.6 * std::sqrt(s.aspect) + margin;
  x0 = std::max<int64_t>(0, (int64_t)std::floor(s.cx - reach));
  x1 = std::min<int64_t>(width, (int64_t)std::ceil(s.cx + reach) + 1);
  y0 = std::max<int64_t>(0, (int64_t)std::floor(s.cy - reach));
  y1 = std::min<int64_t>(height, (int64_t)std::ceil(s.cy + reach) + 1);
}

}  // namespace cuttle::data
