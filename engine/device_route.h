// Defines CUTTLE_ROUTE_CUDA, the first line of every op: when an operand lives on a GPU (and the
// build has the CUDA backend) the op forwards to its CUDA kernel; otherwise the CPU kernel runs.
// Either way the op is counted in an active OpTrace (engine/op_trace.h).
#pragma once
#include "engine/op_trace.h"
#include "engine/tensor.h"

namespace cuttle::engine {

inline bool any_cuda() { return false; }
template <typename... Rest>
bool any_cuda(const Tensor& t, const Rest&... rest) {
  return (t.defined() && t.device().is_cuda()) || any_cuda(rest...);
}

inline void require_same_device(const char*, Device) {}
template <typename... Rest>
void require_same_device(const char* op, Device d, const Tensor& t, const Rest&... rest) {
  CUTTLE_CHECK(!t.defined() || t.device() == d, op, ": operands on different devices (", d.str(), " and ",
               t.device().str(), "); move them with to(device) first");
  require_same_device(op, d, rest...);
}
template <typename... Rest>
Device common_device(const char* op, const Tensor& first, const Rest&... rest) {
  require_same_device(op, first.device(), rest...);
  return first.device();
}

}  // namespace cuttle::engine

#ifdef CUTTLE_WITH_CUDA
#define CUTTLE_ROUTE_CUDA(op, call, ...)                            \
  ::cuttle::engine::OpScope cuttle_op_scope_(op);                   \
  if (::cuttle::engine::any_cuda(__VA_ARGS__)) {                    \
    ::cuttle::engine::common_device(op, __VA_ARGS__);               \
    return call;                                                    \
  }
#else
#define CUTTLE_ROUTE_CUDA(op, call, ...) ::cuttle::engine::OpScope cuttle_op_scope_(op);
#endif
