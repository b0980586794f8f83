// Defines the helpers shared by the CPU indexing kernels: dispatch on the index dtype, the range
// check that names the op, and the [outer, n, inner] view of a tensor around one axis.
#pragma once
#include <cstdint>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace cuttle::engine::cpu {

// Calls fn(TypeTag<I>{}) for an index dtype (i64 or i32).
template <typename Fn>
decltype(auto) dispatch_index(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::i32: return fn(TypeTag<int32_t>{});
    default: CUTTLE_FAIL(op, ": indices must be i64 or i32, got ", dtype_name(t));
  }
}

// Throws unless every index lies in [0, size). Runs before any parallel region (a throw there
// would terminate).
inline void check_index_range(const char* op, const Tensor& idx, int64_t axis, int64_t size) {
  const Tensor c = idx.contiguous();
  dispatch_index(idx.dtype(), op, [&](auto tag) {
    using I = typename decltype(tag)::type;
    const I* p = c.data<I>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i)
      CUTTLE_CHECK(p[i] >= 0 && p[i] < size, op, ": index ", (int64_t)p[i], " is out of range for axis ", axis,
                   " of size ", size);
  });
}

struct AxisDims {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisDims axis_dims(const Shape& s, int axis) {
  AxisDims d;
  for (int i = 0; i < (int)s.size(); ++i) (i < axis ? d.outer : i == axis ? d.n : d.inner) *= s[i];
  return d;
}

}  // namespace cuttle::engine::cpu
