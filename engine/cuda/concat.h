// Declares the one-launch concatenation of contiguous tensors, engine::concat's GPU path (the
// generic path copies each input with its own kernel: four launches per COD expert's branch join).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine::cuda {

constexpr int kMaxConcatInputs = 16;  // addresses passed by value in the launch

// True when xs (one GPU, one dtype, the shapes engine::concat checked) can go in one launch: at most
// kMaxConcatInputs, all contiguous. out: contiguous, the joined shape, on the same device.
bool concat_fits(const std::vector<Tensor>& xs);
void concat_into(const std::vector<Tensor>& xs, int axis, Tensor& out);

}  // namespace cuttle::engine::cuda
