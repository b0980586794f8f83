// The weight transform of engine/cuda/conv_flip.h: one thread per element of the result.
#include "engine/cuda/conv_flip.h"
#include "engine/cuda/kernel_loops.cuh"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T>
__global__ void flip_swap_kernel(const T* __restrict__ w, T* __restrict__ out, int64_t O, int64_t C, int64_t kh,
                                 int64_t kw) {
  const int64_t taps = kh * kw;
  CUTTLE_KERNEL_LOOP(e, O * C * taps) {
    const int64_t t = e % taps, oc = e / taps;  // out index (c, o, t)
    const int64_t o = oc % O, c = oc / O;
    const int64_t i = t / kw, j = t - i * kw;
    out[e] = w[(o * C + c) * taps + (kh - 1 - i) * kw + (kw - 1 - j)];
  }
}

}  // namespace

Tensor flip_swap_conv_weight(const Tensor& w) {
  const int64_t O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3);
  Tensor out = Tensor::empty({C, O, kh, kw}, w.dtype(), w.device());
  if (out.numel() == 0) return out;
  DeviceGuard guard(w.device().index);
  dispatch_float(w.dtype(), "conv weight flip", [&](auto tag) {
    using T = typename decltype(tag)::type;
    flip_swap_kernel<T><<<blocks_for(out.numel()), kThreads, 0, stream_of(w)>>>(w.data<T>(), out.data<T>(), O, C, kh,
                                                                                  kw);
    CUTTLE_CUDA_CHECK_LAUNCH("conv weight flip");
  });
  return out;
}

}  // namespace cuttle::engine::cuda
