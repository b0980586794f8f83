// Defines the argument checks the CUDA normalisation kernels share (the GPU twin of
// engine/cpu/norm_common.h, without the CPU device requirement).
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

// An optional per-feature tensor (weight, bias, running stat): undefined, or [n] with x's dtype.
inline void check_norm_param(const char* op, const char* what, const Tensor& p, const Tensor& x, int64_t n) {
  if (!p.defined()) return;
  CUTTLE_CHECK(p.dim() == 1 && p.size(0) == n, op, ": ", what, " ", shape_str(p.shape()), " must be [", n,
               "] for input ", shape_str(x.shape()));
  CUTTLE_CHECK(p.dtype() == x.dtype(), op, ": ", what, " ", p.str(), " must have the input's dtype ",
               dtype_name(x.dtype()));
}

inline void check_norm_input(const char* op, const Tensor& x) {
  CUTTLE_CHECK(x.defined(), op, ": the input is undefined");
  CUTTLE_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, op, ": expected f32 or f64, got ", x.str());
}

inline void check_grad_like(const char* op, const Tensor& g, const Tensor& x) {
  CUTTLE_CHECK(g.defined() && g.shape() == x.shape(), op, ": grad_out ", g.defined() ? shape_str(g.shape()) : "undefined",
               " must match input ", shape_str(x.shape()));
  CUTTLE_CHECK(g.dtype() == x.dtype(), op, ": dtype mismatch, ", g.str(), " vs ", x.str());
}

// A contiguous copy (or the tensor itself) of an optional tensor.
inline Tensor contiguous_or_none(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

template <typename T>
T* ptr_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace cuttle::engine::cuda
