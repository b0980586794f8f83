// Declares the training augmentations of the recipe (flips, rotate-90, colour jitter, random resized
// crop), applied identically to image and mask and seeded per (seed, epoch, index), so a run is
// reproducible whatever the number of loader threads.
#pragma once
#include <cstdint>

#include "data/sample.h"

namespace cuttle::data {

struct AugmentConfig {
  double p_hflip = 0.5;
  double p_vflip = 0.2;
  double p_rot90 = 0.2;
  double p_jitter = 0.2;
  double jitter = 0.1;          // brightness, contrast and saturation factors in [1 - j, 1 + j]
  double p_crop = 1.0;          // random resized crop, then resized back to the output size
  double crop_scale_min = 0.75, crop_scale_max = 1.0;
  double crop_ratio_min = 3.0 / 4.0, crop_ratio_max = 4.0 / 3.0;
};

// Augments `s` with the draws of (seed, epoch, index).
Sample augment(const Sample& s, const AugmentConfig& cfg, uint64_t seed, int64_t epoch, int64_t index);
// Resizes to out_h x out_w: the image bilinearly, the mask bilinearly then thresholded at 0.5.
Sample resize_sample(const Sample& s, int64_t out_h, int64_t out_w);

}  // namespace cuttle::data
