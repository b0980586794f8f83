// Declares image resizing: bilinear (align_corners = false, OpenCV INTER_LINEAR semantics) and
// nearest (OpenCV INTER_NEAREST) for 8-bit images of any channel count and float grey images.
#pragma once
#include <cstdint>

#include "data/image.h"

namespace cuttle::data {

// Bilinear, source coordinate (d + 0.5) * in / out - 0.5. The 8-bit version reproduces OpenCV 4.6's
// fixed-point INTER_LINEAR bit for bit (11-bit weights; the vertical pass rounds as its SIMD kernel
// does), up- and down-sampling alike: the evaluation protocol resizes predictions to the mask size
// with cv2.resize, and a one-level difference moves the metrics.
Image resize_bilinear(const Image& src, int64_t out_h, int64_t out_w);
// Float version: same taps and weights, in float, no rounding.
GreyImageF resize_bilinear(const GreyImageF& src, int64_t out_h, int64_t out_w);

// Nearest: output index d takes source index min(floor(d * in / out), in - 1) (OpenCV's rule, not
// pixel-centre).
Image resize_nearest(const Image& src, int64_t out_h, int64_t out_w);
GreyImageF resize_nearest(const GreyImageF& src, int64_t out_h, int64_t out_w);

}  // namespace cuttle::data
