// Declares the joining op family: concat, split, chunk, stack, and pad (constant, reflect, replicate)
// with its backward. Any dtype, except pad_backward (f32, f64).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine {

// Joins tensors of one dtype whose shapes agree except on `axis`.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// Views of consecutive pieces of x along `axis` with the given sizes, which must sum to x.size(axis).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
// torch.chunk: pieces of ceil(size / n) along `axis`, the last one shorter; fewer than n pieces when
// the size runs out. Views.
std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t axis);
// Joins same-shaped tensors along a new axis (0 <= axis <= rank, negative counts from the end).
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);

enum class PadMode { constant, reflect, replicate };
const char* pad_mode_name(PadMode mode);
// torch.nn.functional.pad: `pads` holds (before, after) pairs starting at the LAST axis:
// {left, right, top, bottom, ...}. Pads are >= 0. constant: any number of axes, filled with `value`;
// reflect (mirror without repeating the edge, pad < size) and replicate (repeat the edge): the last
// one or two axes only (2 or 4 pads).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0.0);
// The gradient of pad for the input of `input_shape`: the inner slice for constant; for reflect and
// replicate every padded position adds into the input position it copied.
Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pads, PadMode mode);

}  // namespace cuttle::engine
