// Defines require_cpu: the guard every CPU kernel runs first, naming the op and the offending tensor.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cpu {

inline void require_cpu(const char* op) {}
template <typename... Rest>
void require_cpu(const char* op, const Tensor& t, const Rest&... rest) {
  CUTTLE_CHECK(t.defined(), op, ": an input tensor is undefined");
  CUTTLE_CHECK(t.device().is_cpu(), op, ": tensor ", t.str(), " is not on the CPU and this build has ",
               "no CUDA kernel for it");
  require_cpu(op, rest...);
}

inline void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  CUTTLE_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
}

}  // namespace cuttle::engine::cpu
