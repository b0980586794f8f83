// Declares the CUDA kernel of topk (engine/ops/index.h). Each element's rank in its lane is counted
// under the CPU's strict order (larger first or smaller first, NaN the largest, ties to the lower
// index), so the selection and its order are unique and equal the CPU's. One thread per element and
// O(n) work each: O(n^2) per lane, meant for short lanes (the MoE router's experts, class scores).
#pragma once
#include "engine/ops/index.h"

namespace cuttle::engine::cuda {

// x on a GPU, `axis` normalised, 0 <= k <= x.size(axis) (checked by the engine op).
TopK topk(const Tensor& x, int64_t k, int axis, bool largest, bool sorted);

}  // namespace cuttle::engine::cuda
