#include "layers/conv_batch_norm.h"

#include "engine/env_switch.h"

namespace cuttle::layers {

namespace {
// CUTTLE_CONV_BN_FOLD=0 keeps the bias in the convolution: a benchmarking switch
// (scripts/gpu_variants_check.sh), read once.
bool fold_enabled() {
  static const bool on = engine::env_switch_on("CUTTLE_CONV_BN_FOLD");
  return on;
}
}  // namespace

Var conv_batch_norm(Conv2d& conv, BatchNorm2d& bn, const Var& x, bool relu) {
  if (conv.bias.defined() && bn.uses_batch_statistics() && fold_enabled())
    return bn.forward_shifted(conv.forward_unbiased(x), conv.bias, relu);
  Var y = conv.forward(x);
  return relu ? bn.forward_relu(y) : bn.forward(y);
}

}  // namespace cuttle::layers
