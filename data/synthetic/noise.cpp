#include "data/synthetic/noise.h"

#include <cmath>

#include "engine/random.h"

namespace cuttle::data {

namespace {

uint64_t cell_hash(uint64_t seed, int64_t ix, int64_t iy) {
  return engine::random_bits(seed, (uint64_t)ix * 0x9E3779B1ull ^ ((uint64_t)iy << 32) ^ (uint64_t)iy);
}

double fade(double t) { return t * t * t * (t * (t * 6 - 15) + 10); }  // C2-continuous interpolation

// 256 unit gradients evenly spaced on the circle: a table lookup instead of a sin and a cos per
// lattice corner (those were most of the generator's time, which competes with training on 2 cores).
struct GradientTable {
  double gx[256], gy[256];
  GradientTable() {
    for (int i = 0; i < 256; ++i) {
      gx[i] = std::cos(i * (6.283185307179586 / 256));
      gy[i] = std::sin(i * (6.283185307179586 / 256));
    }
  }
};
const GradientTable kGradients;

double corner(uint64_t seed, int64_t ix, int64_t iy, double dx, double dy) {
  const unsigned i = (unsigned)(cell_hash(seed, ix, iy) >> 56);
  return kGradients.gx[i] * dx + kGradients.gy[i] * dy;
}

}  // namespace

double gradient_noise(uint64_t seed, double x, double y) {
  const double fx = std::floor(x), fy = std::floor(y);
  const int64_t ix = (int64_t)fx, iy = (int64_t)fy;
  const double dx = x - fx, dy = y - fy;
  const double u = fade(dx), v = fade(dy);
  const double n00 = corner(seed, ix, iy, dx, dy), n10 = corner(seed, ix + 1, iy, dx - 1, dy);
  const double n01 = corner(seed, ix, iy + 1, dx, dy - 1), n11 = corner(seed, ix + 1, iy + 1, dx - 1, dy - 1);
  const double a = n00 + u * (n10 - n00), b = n01 + u * (n11 - n01);
  return 1.41421356 * (a + v * (b - a));  // a unit gradient lattice peaks near 1/sqrt(2)
}

double fbm(uint64_t seed, double x, double y, int octaves, double gain) {
  double sum = 0, amp = 1, norm = 0, freq = 1;
  for (int o = 0; o < octaves; ++o) {
    // Each octave gets its own lattice and a rotation-like shear so the layers do not align.
    sum += amp * gradient_noise(seed + 0x51ED27ull * (uint64_t)(o + 1), x * freq + 0.37 * o, y * freq - 0.61 * o);
    norm += amp;
    amp *= gain;
    freq *= 2.03;
  }
  return sum / norm;
}

WorleyResult worley(uint64_t seed, double x, double y) {
  const int64_t ix = (int64_t)std::floor(x), iy = (int64_t)std::floor(y);
  double f1 = 1e9, f2 = 1e9;
  for (int64_t j = iy - 1; j <= iy + 1; ++j)
    for (int64_t i = ix - 1; i <= ix + 1; ++i) {
      const uint64_t h = cell_hash(seed, i, j);
      const double px = i + (double)(h & 0xFFFFFF) / 16777216.0, py = j + (double)((h >> 24) & 0xFFFFFF) / 16777216.0;
      const double d = std::hypot(x - px, y - py);
      if (d < f1) {
        f2 = f1;
        f1 = d;
      } else if (d < f2) {
        f2 = d;
      }
    }
  return {f1, f2};
}

}  // namespace cuttle::data
