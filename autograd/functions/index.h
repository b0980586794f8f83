// Declares the differentiable indexing functions on Var: topk (values differentiable, indices a
// plain tensor), index_select, gather, scatter_add and index_add. Index tensors carry no gradient.
#pragma once
#include "autograd/var.h"
#include "engine/ops/index.h"

namespace cuttle::autograd {

struct TopKResult {
  Var values;      // the gradient flows back to the selected positions of x
  Tensor indices;  // i64
};
TopKResult topk(const Var& x, int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true);

Var index_select(const Var& x, int64_t axis, const Tensor& idx);
Var gather(const Var& x, int64_t axis, const Tensor& idx);
// Gradients to base (the output gradient) and src (gathered at idx).
Var scatter_add(const Var& base, int64_t axis, const Tensor& idx, const Var& src);
// Gradients to base (the output gradient) and src (index_select at idx).
Var index_add(const Var& base, int64_t axis, const Tensor& idx, const Var& src);

}  // namespace cuttle::autograd
