// Defines Backbone, the interface of CamoXpert's image encoders: an image [B, 3, H, W] in, four
// feature maps [B, C_i, H / s_i, W / s_i] out at strides s = 4, 8, 16, 32 (H and W multiples of 32).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "layers/module.h"

namespace cuttle::models {

using autograd::Var;
using engine::DType;
using engine::Shape;
using engine::Tensor;

class Backbone : public layers::Module {
 public:
  // The four maps, finest first (strides 4, 8, 16, 32), each NCHW.
  virtual std::vector<Var> features(const Var& x) = 0;
  // Channels of the four maps, in the same order.
  virtual std::array<int64_t, 4> dims() const = 0;
  static constexpr std::array<int64_t, 4> strides() { return {4, 8, 16, 32}; }
};

}  // namespace cuttle::models
