// Dropout (engine/ops/dropout.h), built on the counter-based bernoulli draw and element-wise ops.
#include "engine/cpu/cpu_only.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/dropout.h"
#endif
#include "engine/device_route.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"

namespace cuttle::engine {

DropoutResult dropout(const Tensor& x, double p, bool training, Generator* gen) {
  // The checks and the two trivial cases are the same on every device.
  CUTTLE_CHECK(x.defined(), "dropout: the input is undefined");
  CUTTLE_CHECK(p >= 0.0 && p <= 1.0, "dropout: p must be in [0, 1], got ", p);
  CUTTLE_CHECK(is_floating(x.dtype()), "dropout: input must be floating, got ", x.str());
  if (!training || p == 0.0) return {x, Tensor()};
  if (p == 1.0) {
    return {Tensor::zeros(x.shape(), x.dtype(), x.device()), Tensor::zeros(x.shape(), x.dtype(), x.device())};
  }
  CUTTLE_ROUTE_CUDA("dropout", cuda::dropout(x, p, gen ? *gen : default_generator()), x);
  cpu::require_cpu("dropout", x);
  Tensor mask = bernoulli(x.shape(), 1.0 - p, x.dtype(), gen);
  mul_scalar_(mask, 1.0 / (1.0 - p));
  return {mul(x, mask), mask};
}

Tensor dropout_backward(const Tensor& grad_out, const Tensor& mask) {
  if (!mask.defined()) return grad_out;
  CUTTLE_CHECK(grad_out.shape() == mask.shape(), "dropout_backward: grad_out ", shape_str(grad_out.shape()),
               " does not match the mask ", shape_str(mask.shape()));
  return mul(grad_out, mask);
}

}  // namespace cuttle::engine
