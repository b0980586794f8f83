// Declares the reduction op family: sum, mean, max, min, argmax, var over any set of axes
// (empty axes = all), and sum_to_shape, the reduction that undoes broadcasting.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Variance with `correction` (0 = population, 1 = unbiased, as torch.var).
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
// Index of the first maximum along one axis (i64).
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
// Sums a broadcast result back to `shape` (the gradient of broadcasting).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);
// The shape `x` has after reducing `axes` with keepdim (for broadcasting a result back).
Shape reduced_shape(const Shape& x, const Axes& axes, bool keepdim);

}  // namespace cuttle::engine
