// Declares recalibrate_batch_norm: "precise BN", running statistics recomputed as the plain average of
// the batch statistics over many batches with the final weights.
#pragma once
#include <cstdint>
#include <functional>

#include "layers/module.h"

namespace cuttle::layers {

// Sets the running mean and variance of every BatchNorm2d in `model` to the average over the calls
// `run_batch(i)`, i in [0, batches), of the statistics each call's forward computes. The caller runs
// the model in training mode (batch statistics) without gradients; each BatchNorm2d is averaged over
// the calls that reached it (an MoE expert only sees the batches that chose it), and one that no call
// reached keeps its statistics. Momentum and every other buffer of `model` (num_batches_tracked, an
// MoE's balancing bias and usage) are left as they were.
// Why: the exponential running averages of training trail weights that are still moving, and inside
// the MoE experts each update rests on a sub-batch of a few samples; evaluation then normalises with
// statistics the network never saw.
void recalibrate_batch_norm(Module& model, int64_t batches, const std::function<void(int64_t)>& run_batch);

}  // namespace cuttle::layers
