// Defines the order top-k ranks elements by, once for both backends (host/device under nvcc): larger
// first (largest) or smaller first, NaN counting as the largest value, equal values by position, so
// ties go to the lower index on the CPU and the GPU alike (the MoE router relies on it).
#pragma once
#include <cstdint>
#include <type_traits>

#include "engine/scalar_ops.h"

namespace cuttle::engine {

template <typename T>
CUTTLE_HOST_DEVICE inline bool topk_is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;  // isnan without host/device overloads
  else return false;
}

// Element a at position i ranks before element b at position j.
template <typename T>
CUTTLE_HOST_DEVICE inline bool topk_before(T a, int64_t i, T b, int64_t j, bool largest) {
  const bool na = topk_is_nan(a), nb = topk_is_nan(b);
  bool a_first, b_first;
  if (na || nb) {
    a_first = largest ? (na && !nb) : (!na && nb);
    b_first = largest ? (nb && !na) : (!nb && na);
  } else {
    a_first = largest ? a > b : a < b;
    b_first = largest ? b > a : b < a;
  }
  return a_first || (!b_first && i < j);
}

}  // namespace cuttle::engine
