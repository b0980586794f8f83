// Declares Backbone, the interface between CamoXpert and its feature extractors (SmallCNN, PVTv2):
// features(x) gives the 4 maps at strides 4, 8, 16, 32 and dims() their channel counts C1..C4.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "layers/module.h"

namespace cuttle::models {

using autograd::Var;
using engine::Tensor;

class Backbone : public layers::Module { public: virtual std::vector<Var> features(const Var& x) = 0; virtual std::array<int64_t,4> dims() const = 0; };

}  // namespace cuttle::models
