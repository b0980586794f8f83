// Declares dropout: zeroes elements with probability p and scales the rest by 1 / (1 - p).
#pragma once
#include "engine/random.h"
#include "engine/tensor.h"

namespace cuttle::engine {

struct DropoutResult {
  Tensor output;
  Tensor mask;  // x's shape and dtype: 1 / (1 - p) where kept, 0 where dropped; undefined for the identity
};
// Identity (output is x itself, no draw) when !training or p == 0; zeros when p == 1. The keep mask is
// drawn with bernoulli(1 - p) from `gen` (the default generator when null).
DropoutResult dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// grad * mask (grad itself when the mask is undefined).
Tensor dropout_backward(const Tensor& grad_out, const Tensor& mask);

}  // namespace cuttle::engine
