// Defines the argument checks shared by the normalisation kernels.
#pragma once
#include "engine/cpu/cpu_only.h"

namespace cuttle::engine::cpu {

// An optional per-feature parameter (weight, bias, running stat): undefined, or [n] with x's dtype.
inline void check_param(const char* op, const char* what, const Tensor& p, const Tensor& x, int64_t n) {
  if (!p.defined()) return;
  require_cpu(op, p);
  CUTTLE_CHECK(p.dim() == 1 && p.size(0) == n, op, ": ", what, " ", shape_str(p.shape()), " must be [", n,
               "] for input ", shape_str(x.shape()));
  CUTTLE_CHECK(p.dtype() == x.dtype(), op, ": ", what, " ", p.str(), " must have the input's dtype ",
               dtype_name(x.dtype()));
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace cuttle::engine::cpu
