// Declares the object shapes of the synthetic generator: star-convex outlines (smooth blobs from a
// few harmonics, or lumpy/angular polygons), stretched and rotated, sized by area.
#pragma once
#include <cstdint>
#include <vector>

#include "data/synthetic/rng.h"

namespace cuttle::data {

struct ObjectShape {
  double cx = 0, cy = 0;     // centre, pixels
  double radius = 1;         // base radius, pixels (before stretching)
  double aspect = 1;         // stretch along `rotation`
  double rotation = 0;
  std::vector<double> amp, phase;  // harmonic k+2 of the outline (smooth blobs)
  std::vector<double> knots;       // radius factors at equal angles (polygons); empty for blobs
  bool sharp = false;              // polygons: straight edges instead of rounded ones
};

// An object covering about `area_fraction` of a height x width image, fully or mostly inside it.
ObjectShape random_shape(SceneRng& rng, int64_t height, int64_t width, double area_fraction);
// Approximate signed distance in pixels to the outline: positive inside.
double inside_distance(const ObjectShape& s, double x, double y);
// Bounding box [x0, x1) x [y0, y1) of the shape grown by `margin` pixels, clipped to the image.
void shape_bounds(const ObjectShape& s, double margin, int64_t height, int64_t width, int64_t& x0, int64_t& x1,
                  int64_t& y0, int64_t& y1);

}  // namespace cuttle::data
