// Declares the loss-free balancing step of a mixture of experts as one in-place op (one kernel on a
// GPU, where the same formula in engine ops took about fifteen launches per MoE layer and step). For
// each expert e, in double, each result rounded to f32 (as the PyTorch twin computes it, whatever the
// buffers' dtype) and stored:
//   ema[e]  <- ema[e] * momentum + usage[e] * (1 - momentum)
//   bias[e] <- clamp(bias[e] - rate * (ema[e] - 1/E), -limit, limit)   (with the new, stored ema)
#pragma once
#include "engine/tensor.h"

namespace cuttle::engine {

// bias and usage_ema: contiguous [E] of one float dtype on one device; usage: E floats on that device.
void moe_balance_update_(Tensor& bias, Tensor& usage_ema, const Tensor& usage, double momentum, double rate,
                         double limit);

}  // namespace cuttle::engine
