// CPU kernels of the fused batch norm + ReLU (engine/ops/norm.h): the batch-norm kernels with the ReLU
// applied in place on their fresh output, and the gradient masked by the saved output before the
// batch-norm backward. (The fusion pays on the GPU; here it only has to compute the same function.)
#include "engine/cpu/norm_common.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/norm.h"
#endif
#include "engine/device_route.h"
#include "engine/dispatch.h"
#include "engine/ops/norm.h"
#include "engine/parallel.h"

namespace cuttle::engine {

BatchNormResult batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                                Tensor running_var, bool training, double momentum, double eps,
                                const Tensor& running_mean_shift) {
  CUTTLE_ROUTE_CUDA("batch_norm_relu",
                    cuda::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, true,
                                     running_mean_shift),
                    x, weight, bias, running_mean, running_var, running_mean_shift);
  BatchNormResult r =
      batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, running_mean_shift);
  dispatch_float(x.dtype(), "batch_norm_relu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* y = r.output.data<T>();  // fresh and contiguous
    parallel_for(0, r.output.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
    });
  });
  return r;
}

NormGrads batch_norm_relu_backward(const Tensor& grad_out, const Tensor& output, const Tensor& x, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training, NormNeeds needs) {
  const char* op = "batch_norm_relu_backward";
  CUTTLE_ROUTE_CUDA(op,
                    cuda::batch_norm_backward(grad_out, x, weight, save_mean, save_invstd, training, needs, output),
                    grad_out, output, x, weight, save_mean, save_invstd);
  cpu::require_cpu(op, grad_out, output);
  cpu::require_same_dtype(op, grad_out, output);
  CUTTLE_CHECK(grad_out.shape() == output.shape(), op, ": grad_out ", shape_str(grad_out.shape()),
               " does not match the output ", shape_str(output.shape()));
  Tensor masked = Tensor::empty(grad_out.shape(), grad_out.dtype());
  const Tensor gc = grad_out.contiguous(), yc = output.contiguous();
  dispatch_float(grad_out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = gc.data<T>();
    const T* y = yc.data<T>();
    T* m = masked.data<T>();
    parallel_for(0, masked.numel(), kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) m[i] = y[i] > T(0) ? g[i] : T(0);
    });
  });
  return batch_norm_backward(masked, x, weight, save_mean, save_invstd, training, needs);
}

}  // namespace cuttle::engine
