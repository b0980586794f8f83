// Declares the CUDA kernel of the loss-free balancing step (engine/ops/moe_balance.h); the engine op
// has checked the operands.
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine::cuda {

void moe_balance_update_(Tensor& bias, Tensor& usage_ema, const Tensor& usage, double momentum, double rate,
                         double limit);

}  // namespace cuttle::engine::cuda
