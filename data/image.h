// Defines the image types of the data layer: Image (8-bit, interleaved channels) and GreyImageF
// (one float channel), and their conversions to engine Tensors ([C,H,W] u8 and [H,W] f32).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace cuttle::data {

// 8-bit image, row-major, channels interleaved (pixel (y, x) channel c at (y*width + x)*channels + c).
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;

  Image() = default;
  Image(int64_t h, int64_t w, int64_t c, uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels((size_t)(h * w * c), fill) {}
  int64_t numel() const { return height * width * channels; }
  uint8_t& at(int64_t y, int64_t x, int64_t c = 0) { return pixels[(size_t)((y * width + x) * channels + c)]; }
  uint8_t at(int64_t y, int64_t x, int64_t c = 0) const { return pixels[(size_t)((y * width + x) * channels + c)]; }
};

// Single-channel float image, row-major.
struct GreyImageF {
  int64_t height = 0, width = 0;
  std::vector<float> pixels;

  GreyImageF() = default;
  GreyImageF(int64_t h, int64_t w, float fill = 0.f) : height(h), width(w), pixels((size_t)(h * w), fill) {}
  float& at(int64_t y, int64_t x) { return pixels[(size_t)(y * width + x)]; }
  float at(int64_t y, int64_t x) const { return pixels[(size_t)(y * width + x)]; }
};

// [C,H,W] u8 tensor (planar, as the engine's NCHW layout wants) from an interleaved Image, and back.
engine::Tensor image_to_tensor(const Image& img);
Image tensor_to_image(const engine::Tensor& t);  // t: u8 [C,H,W] or [H,W]
// [H,W] f32 tensor from a float image, and back.
engine::Tensor grey_to_tensor(const GreyImageF& img);
GreyImageF tensor_to_grey(const engine::Tensor& t);  // t: [H,W] any dtype, converted to f32
// value/255 of a one-channel 8-bit image.
GreyImageF to_float01(const Image& img);

}  // namespace cuttle::data
