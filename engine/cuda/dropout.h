// Declares the CUDA dropout kernel: the keep mask is drawn from the same counter-based hash as the
// CPU's bernoulli (element i reads counter offset + i), so for the same generator state the GPU mask
// equals the CPU mask bit for bit.
#pragma once
#include "engine/ops/dropout.h"

namespace cuttle::engine::cuda {

// Training with 0 < p < 1 (the engine op handles the identity and p == 1); advances the generator
// by x.numel() counters, as the CPU does.
DropoutResult dropout(const Tensor& x, double p, Generator& gen);

}  // namespace cuttle::engine::cuda
