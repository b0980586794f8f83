// CUDA dropout (engine/cuda/dropout.h): one pass draws the mask and writes mask and output.
#include "engine/cuda/dropout.h"
#include "engine/cuda/kernel_util.cuh"
#include "engine/dispatch.h"
#include "engine/random_bits.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T>
__global__ void dropout_kernel(const T* x, T* out, T* mask, int64_t n, uint64_t seed, uint64_t base, double keep,
                               T scale) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    // As the CPU: bernoulli(keep) gives 1 or 0, then the mask is scaled by 1 / (1 - p) in T.
    const T m = random_unit(seed, base + (uint64_t)i) < keep ? scale : T(0);
    mask[i] = m;
    out[i] = x[i] * m;
  }
}

}  // namespace

DropoutResult dropout(const Tensor& x, double p, Generator& gen) {
  const Tensor xc = x.contiguous();
  const int64_t n = xc.numel();
  DropoutResult r{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), x.dtype(), x.device())};
  const uint64_t seed = gen.seed(), base = gen.advance((uint64_t)n);
  if (n == 0) return r;
  DeviceGuard guard(x.device().index);
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dropout_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(xc.data<T>(), r.output.data<T>(), r.mask.data<T>(),
                                                                     n, seed, base, 1.0 - p, (T)(1.0 / (1.0 - p)));
    CUTTLE_CUDA_CHECK_LAUNCH("dropout");
  });
  return r;
}

}  // namespace cuttle::engine::cuda
