// Defines for_each_plane: runs a per-(n, c) plane kernel over an NCHW tensor, one thread per plane,
// which keeps the scatter of pooling and resize backwards free of races and order-deterministic.
#pragma once
#include <algorithm>
#include <cstdint>

#include "engine/parallel.h"

namespace cuttle::engine::cpu {

// fn(plane) for plane in [0, planes); `work` is the cost of one plane in elements.
template <typename Fn>
void for_each_plane(int64_t planes, int64_t work, const Fn& fn) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, work));
  parallel_for(0, planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) fn(p);
  });
}

}  // namespace cuttle::engine::cpu
