// Declares the CUDA kernels of reflect and replicate padding (engine/ops/join.h) over the last one or
// two axes; constant padding and the joins need no kernel of their own (fill plus strided copies).
// The backward gathers: one thread per input cell sums the (at most three per axis for reflect, a
// run for replicate) padded cells that copied it, in output order, so it is deterministic.
#pragma once
#include <vector>

#include "engine/ops/join.h"

namespace cuttle::engine::cuda {

// mode reflect or replicate; pads (2 or 4) and shapes validated by the engine op.
Tensor pad(const Tensor& x, const Shape& out_shape, const std::vector<int64_t>& pads, PadMode mode);
Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pads, PadMode mode);

}  // namespace cuttle::engine::cuda
