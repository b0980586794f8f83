// Declares the CUDA kernels of the fused training updates (engine/ops/optim.h). Every tensor of one
// call is on the same GPU and already validated by the engine op; each call packs its tensors into a
// few multi-tensor launches (engine/cuda/multi_tensor.cuh).
#pragma once
#include <vector>

#include "engine/ops/optim.h"

namespace cuttle::engine::cuda {

void adamw_update(std::vector<AdamWSlot>& slots, double beta1, double beta2, double eps);
void sgd_update(std::vector<SGDSlot>& slots, double momentum, double dampening, bool nesterov);
// Per-block partial sums in double into a device buffer, then one fixed-order reduction: an f64 scalar
// on the GPU, deterministic for a given list of shapes.
Tensor sum_of_squares(const std::vector<Tensor>& tensors);
void scale_(std::vector<Tensor>& tensors, double s);
// avg and now contiguous.
void ema_update_(std::vector<Tensor>& avg, const std::vector<Tensor>& now, double decay);

}  // namespace cuttle::engine::cuda
