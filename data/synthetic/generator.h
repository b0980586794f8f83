// Declares the synthetic camouflage generator, the built-in dataset: procedural scenes in which
// objects wear a drifted copy of their background's texture. Deterministic from a seed, any size and
// aspect ratio, no files needed.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace cuttle::data {

struct SyntheticConfig {
  // How much the object's texture differs from the background's, drawn per scene uniformly from
  // [cue_min, cue_max]: 0 = the same texture at another phase (hardest), 1 = palette, scale and
  // orientation drift plus a faint boundary and shading. A spread of difficulties, as in the real
  // datasets: the easy scenes teach what an object is, the hard ones what camouflage hides.
  double cue_min = 0.3;
  double cue_max = 1.0;
  double min_object_fraction = 0.02;  // of the image area, per scene (all objects together)
  double max_object_fraction = 0.40;
  double p_no_object = 0.04;          // scenes with nothing to find (the mask is empty)
  double p_several_objects = 0.15;    // scenes with 2 or 3 objects
  double max_noise = 0.03;            // std of the global pixel noise, drawn per scene
  double max_blur = 1.2;              // std (pixels) of the global Gaussian blur, drawn per scene
};

struct SyntheticSample {
  engine::Tensor image;  // f32 [3, H, W], values in [0, 1]
  engine::Tensor mask;   // u8 [H, W], 0 or 255 (the object's alpha > 0.5)
};

// The scene for `seed` (same seed, size and config: same pixels).
SyntheticSample generate_synthetic(uint64_t seed, int64_t height, int64_t width, const SyntheticConfig& cfg = {});
// The seed of image `index` of a split ("train", "val", "test") of a dataset seeded with `base`.
uint64_t synthetic_seed(uint64_t base, const char* split, int64_t index);

}  // namespace cuttle::data
