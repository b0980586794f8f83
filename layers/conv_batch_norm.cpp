#include "layers/conv_batch_norm.h"

#include <cstdlib>
#include <cstring>

namespace cuttle::layers {

namespace {
// CUTTLE_CONV_BN_FOLD=0 keeps the bias in the convolution: a benchmarking switch
// (scripts/gpu_variants_check.sh), read once.
bool fold_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("CUTTLE_CONV_BN_FOLD");
    return !(v && std::strcmp(v, "0") == 0);
  }();
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
