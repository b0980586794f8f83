// Declares Backbone for the CamoXpert model: the interface itself lives with the backbones
// (models/backbones/backbone.h); this header keeps the model's include short.
#pragma once
#include "models/backbones/backbone.h"

namespace cuttle::models {

using autograd::Var;
using engine::Tensor;

}  // namespace cuttle::models
