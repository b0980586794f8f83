// Declares the indexing op family: top-k selection, index_select, gather, scatter_add and index_add.
// Indices are i64 (i32 accepted); out-of-range indices throw naming the op, the index and the size.
// Accumulating ops add repeated indices in index order on one thread, so their results do not
// depend on the thread count.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine {

struct TopK {
  Tensor values;   // x's dtype, x's shape with `axis` of size k
  Tensor indices;  // i64, positions along `axis`
};
// The k largest (or smallest) entries along `axis`. Equal values go to the lower index first, and
// NaN counts as larger than any number. sorted=true: best first; sorted=false: the same selection
// in increasing index order. Any numeric dtype.
TopK topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true);

// x with `axis` replaced by the entries idx (1-D) names: out.select(axis, i) = x.select(axis, idx[i]).
// Any dtype.
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& idx);

// torch.gather: out has idx's shape and out[..i..] = x[..idx[..i..]..] with the index replacing the
// coordinate on `axis`; idx needs x's rank and idx.size(d) <= x.size(d) for d != axis. Any dtype.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& idx);

// torch.scatter_add, out of place: a copy of base where, for every position p of idx,
// out[p with axis coordinate idx[p]] += src[p]. idx, src and base share a rank; idx.size(d) <=
// src.size(d) everywhere and <= base.size(d) for d != axis (src entries beyond idx are unused).
Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& idx, const Tensor& src);
// The same onto zeros of `shape` (src's dtype).
Tensor scatter_add(const Shape& shape, int64_t axis, const Tensor& idx, const Tensor& src);

// torch.index_add, out of place: a copy of base with out.select(axis, idx[i]) += src.select(axis, i);
// idx is 1-D, src is base's shape with `axis` of size idx.numel(). Repeated indices accumulate.
Tensor index_add(const Tensor& base, int64_t axis, const Tensor& idx, const Tensor& src);

// While one is alive on this thread, the caller vouches that every index it passes to the ops above is
// in range (numbers it built itself, or a top-k's positions). The CUDA backend then skips its range
// check, which reads a word back from the device and so drains the GPU's queue once per op (the MoE's
// dispatch ran ~150 of them per training step). The CPU backend checks regardless: it costs nothing
// there. The autograd functions carry the vouch into their backward (autograd/functions/index.cpp).
class IndicesVouched {
 public:
  explicit IndicesVouched(bool on = true);
  ~IndicesVouched();
  IndicesVouched(const IndicesVouched&) = delete;
  IndicesVouched& operator=(const IndicesVouched&) = delete;
  static bool active();

 private:
  bool prev_;
};

}  // namespace cuttle::engine
