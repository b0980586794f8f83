// Declares the procedural noise fields of the synthetic generator: 2-D gradient noise, its fractal
// sum (fBm), and Worley (cellular) noise. All are pure functions of (seed, x, y).
#pragma once
#include <cstdint>

namespace cuttle::data {

// Smooth gradient noise in about [-1, 1], unit feature size.
double gradient_noise(uint64_t seed, double x, double y);
// Sum of `octaves` gradient-noise layers, each at twice the frequency and `gain` times the amplitude
// of the last; normalised to about [-1, 1].
double fbm(uint64_t seed, double x, double y, int octaves, double gain = 0.5);

struct WorleyResult {
  double f1, f2;  // distances to the nearest and second-nearest feature point (unit cell size)
};
WorleyResult worley(uint64_t seed, double x, double y);

}  // namespace cuttle::data
