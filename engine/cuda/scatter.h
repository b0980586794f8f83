// Declares the two services the CUDA indexing kernels share: the range check of an index tensor that
// lives on the GPU, and a deterministic scatter-add (contributions to one target are added in the
// order they are given, by a stable sort on the target; no floating-point atomics).
#pragma once
#include <string>

#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// Throws "<op>: index V is out of range for <where> of size S" naming the first offending entry
// (in idx's element order) unless every entry of idx (i64 or i32, on a GPU) lies in [0, size).
// Reads one word back to the host, so it waits for the stream.
void check_index_range(const char* op, const Tensor& idx, int64_t size, const std::string& where);

// Stable sort of keys (i64, contiguous, each in [0, key_bound)): the sorted keys and, for each, its
// position in the input (i64), equal keys keeping their input order.
struct SortedKeys {
  Tensor keys, positions;
};
SortedKeys stable_sort_keys(const Tensor& keys, int64_t key_bound);

// out.flat[keys[i]] += vals[i] for i = 0, 1, ... in that order. out: contiguous on a GPU; keys: i64,
// contiguous, each in [0, out.numel()); vals: contiguous, out's dtype, keys.numel() elements.
// The per-target sums accumulate onto out's value in ascending i, exactly as a serial loop would.
void scatter_add_sorted(Tensor& out, const Tensor& keys, const Tensor& vals);

}  // namespace cuttle::engine::cuda
