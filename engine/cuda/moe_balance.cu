// The loss-free balancing step on the GPU (engine/cuda/moe_balance.h): one thread per expert, the
// CPU loop's double arithmetic with every step rounded on its own.
#include "engine/cuda/kernel_loops.cuh"
#include "engine/cuda/moe_balance.h"
#include "engine/dispatch.h"

namespace cuttle::engine::cuda {

namespace {

template <typename T, typename U>
__global__ void balance_kernel(T* bias, T* ema_buf, const U* usage, int64_t E, double momentum, double rate,
                               double limit) {
  CUTTLE_KERNEL_LOOP(e, E) {
    // Explicitly rounded steps (no fused multiply-add), as the engine-op formulation computed it;
    // the clamp keeps a NaN as std::clamp does on the CPU.
    const float ema = static_cast<float>(
        __dadd_rn(__dmul_rn((double)ema_buf[e], momentum), __dmul_rn((double)usage[e], 1 - momentum)));
    const double drift = __dmul_rn(__dsub_rn((double)ema, 1.0 / (double)E), rate);
    const double v = __dsub_rn((double)bias[e], drift);
    ema_buf[e] = static_cast<T>(ema);
    bias[e] = static_cast<T>(static_cast<float>(v < -limit ? -limit : (v > limit ? limit : v)));
  }
}

}  // namespace

void moe_balance_update_(Tensor& bias, Tensor& usage_ema, const Tensor& usage, double momentum, double rate,
                         double limit) {
  const int64_t E = bias.numel();
  DeviceGuard guard(bias.device().index);
  dispatch_float(bias.dtype(), "moe_balance_update_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_float(usage.dtype(), "moe_balance_update_", [&](auto utag) {
      using U = typename decltype(utag)::type;
      balance_kernel<T, U><<<blocks_for(E), kThreads, 0, stream_of(bias)>>>(
          bias.data<T>(), usage_ema.data<T>(), usage.data<U>(), E, momentum, rate, limit);
      CUTTLE_CUDA_CHECK_LAUNCH("moe_balance_update_");
    });
  });
}

}  // namespace cuttle::engine::cuda
