// Declares the differentiable shape functions on Var: reshape, permute, transpose, slice, select,
// unsqueeze, squeeze, expand, flatten, contiguous. Their outputs are views of the input's data.
#pragma once
#include "autograd/var.h"

namespace cuttle::autograd {

Var reshape(const Var& x, const Shape& shape);
Var permute(const Var& x, const std::vector<int64_t>& order);
Var transpose(const Var& x, int64_t a, int64_t b);
Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Var select(const Var& x, int64_t axis, int64_t index);
Var unsqueeze(const Var& x, int64_t axis);
Var squeeze(const Var& x, int64_t axis);
Var expand(const Var& x, const Shape& shape);
Var flatten(const Var& x, int64_t start = 0, int64_t end = -1);
Var contiguous(const Var& x);

}  // namespace cuttle::autograd
