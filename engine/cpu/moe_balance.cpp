// The loss-free balancing step (engine/ops/moe_balance.h): checks, the CUDA route, the CPU loop.
#include <algorithm>

#include "engine/cpu/cpu_only.h"
#include "engine/device_route.h"
#include "engine/dispatch.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/moe_balance.h"
#endif
#include "engine/ops/moe_balance.h"

namespace cuttle::engine {

void moe_balance_update_(Tensor& bias, Tensor& usage_ema, const Tensor& usage, double momentum, double rate,
                         double limit) {
  const int64_t E = bias.defined() ? bias.numel() : 0;
  CUTTLE_CHECK(E > 0 && bias.dim() == 1 && bias.is_contiguous() && usage_ema.defined() &&
                   usage_ema.shape() == bias.shape() && usage_ema.is_contiguous() &&
                   usage_ema.dtype() == bias.dtype() && usage_ema.device() == bias.device() && is_floating(bias.dtype()),
               "moe_balance_update_: bias ", bias.defined() ? bias.str() : "undefined", " and usage_ema ",
               usage_ema.defined() ? usage_ema.str() : "undefined", " must be contiguous [E] floats on one device");
  CUTTLE_CHECK(usage.defined() && usage.numel() == E && usage.is_contiguous() && is_floating(usage.dtype()) &&
                   usage.device() == bias.device(),
               "moe_balance_update_: usage ", usage.defined() ? usage.str() : "undefined", " must be ", E,
               " contiguous floats on ", bias.device().str());
  CUTTLE_ROUTE_CUDA("moe_balance_update_", cuda::moe_balance_update_(bias, usage_ema, usage, momentum, rate, limit),
                    bias, usage_ema, usage);
  cpu::require_cpu("moe_balance_update_", bias, usage_ema, usage);
  dispatch_float(bias.dtype(), "moe_balance_update_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_float(usage.dtype(), "moe_balance_update_", [&](auto utag) {
      using U = typename decltype(utag)::type;
      T* b = bias.data<T>();
      T* m = usage_ema.data<T>();
      const U* u = usage.data<U>();
      for (int64_t e = 0; e < E; ++e) {
        // volatile: each product rounded on its own (no fused multiply-add), as the GPU kernel does.
        const volatile double kept = (double)m[e] * momentum, fresh = (double)u[e] * (1 - momentum);
        const float ema = static_cast<float>(kept + fresh);
        const volatile double drift = ((double)ema - 1.0 / (double)E) * rate;
        m[e] = static_cast<T>(ema);
        b[e] = static_cast<T>(static_cast<float>(std::clamp((double)b[e] - drift, -limit, limit)));
      }
    });
  });
}

}  // namespace cuttle::engine
