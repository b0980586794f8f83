// Declares the synthetic textures: a scalar pattern (fBm clouds, Worley cells, camouflage blotches or
// warped stripes) at some scale, orientation and anisotropy, mapped through a colour palette. The
// object of a scene wears a drifted copy of its background's texture (see drift()).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "data/synthetic/rng.h"

namespace cuttle::data {

using Rgb = std::array<double, 3>;

enum class Pattern { clouds, cells, blotches, stripes };

struct Texture {
  Pattern pattern = Pattern::clouds;
  uint64_t seed = 0;          // noise lattice
  double scale = 0.1;         // features per pixel (frequency)
  double orientation = 0;     // radians
  double anisotropy = 1;      // stretch along the orientation
  double offset_x = 0, offset_y = 0;  // phase: where in the infinite pattern the image looks
  double warp = 0.5;          // domain-warp strength (organic irregularity)
  double level = 0;           // blotch threshold
  int octaves = 4;
  std::vector<Rgb> palette;   // colours for pattern values 0..1, interpolated
  double detail = 0.15;       // strength of the fine luminance noise on top
};

Texture random_texture(SceneRng& rng, int64_t image_side);
// The texture an object wears: the same pattern at another phase; as `cue` grows from 0 to 1 the
// palette, scale and orientation drift away from the background's.
Texture drift(const Texture& base, double cue, SceneRng& rng);
// The colour at pixel (x, y), each channel in [0, 1].
Rgb texture_colour(const Texture& t, double x, double y);

}  // namespace cuttle::data
