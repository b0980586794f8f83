// Declares the parameter initialisers the layers use, all drawn from a seeded Generator so a model
// built twice with the same seed is identical.
#pragma once
#include "engine/random.h"
#include "engine/tensor.h"

namespace cuttle::layers {

// fan_in of a weight [out, in, k...]: in * prod(k) (a [out, in] Linear weight: in).
int64_t fan_in(const engine::Shape& weight_shape);
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Conv2d and Linear weights (kaiming
// uniform with a = sqrt(5)) and their biases (bound from the weight's fan_in). 0 when fan_in is 0.
engine::Tensor default_uniform_init(const engine::Shape& shape, int64_t fan_in, engine::Generator& gen,
                                    engine::DType dtype = engine::DType::f32);

}  // namespace cuttle::layers
