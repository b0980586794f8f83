// Defines strided_loop: the CPU iteration engine for element-wise work over N strided operands that
// share one iteration shape (broadcast operands carry stride 0). Adjacent axes that are contiguous in
// every operand are merged, so the common contiguous case is a single flat inner loop.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "engine/parallel.h"
#include "engine/shape.h"

namespace cuttle::engine::cpu {

template <size_t N>
struct LoopPlan {
  Shape shape;                       // coalesced iteration shape, at least 1-D
  std::array<Shape, N> strides;      // per operand, in elements
};

template <size_t N>
LoopPlan<N> coalesce(const Shape& shape, const std::array<Shape, N>& strides) {
  LoopPlan<N> p;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 axes never move the offsets
    bool merge = !p.shape.empty();
    for (size_t k = 0; merge && k < N; ++k)
      merge = p.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      p.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) p.strides[k].back() = strides[k][d];
    } else {
      p.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) p.strides[k].push_back(strides[k][d]);
    }
  }
  if (p.shape.empty()) {
    p.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) p.strides[k].push_back(0);
  }
  return p;
}

// Calls inner(offsets, len, inner_strides) for each run of the innermost axis. `offsets` are element
// offsets of each operand at the start of the run. Runs are spread over threads when the work is large.
template <size_t N, typename Inner>
void strided_loop(const Shape& shape, const std::array<Shape, N>& strides, const Inner& inner) {
  if (shape_numel(shape) == 0) return;
  const LoopPlan<N> p = coalesce<N>(shape, strides);
  const int nd = (int)p.shape.size();
  const int64_t len = p.shape[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = p.strides[k][nd - 1];
  int64_t outer = 1;
  for (int d = 0; d < nd - 1; ++d) outer *= p.shape[d];
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(len, 1));
  parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(std::max(nd - 1, 1), 0);
    std::array<int64_t, N> off{};
    int64_t rem = b;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % p.shape[d];
      rem /= p.shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
    }
    for (int64_t o = b; o < e; ++o) {
      inner(off, len, inner_strides);
      for (int d = nd - 2; d >= 0; --d) {  // odometer increment
        ++idx[d];
        for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][d];
        if (idx[d] < p.shape[d]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= p.shape[d] * p.strides[k][d];
        idx[d] = 0;
      }
    }
  });
}

using engine::broadcast_strides;  // engine/shape.h

}  // namespace cuttle::engine::cpu
