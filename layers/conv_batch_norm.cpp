#include "layers/conv_batch_norm.h"

namespace cuttle::layers {

Var conv_batch_norm(Conv2d& conv, BatchNorm2d& bn, const Var& x, bool relu) {
  if (conv.bias.defined() && bn.uses_batch_statistics())
    return bn.forward_shifted(conv.forward_unbiased(x), conv.bias, relu);
  Var y = conv.forward(x);
  return relu ? bn.forward_relu(y) : bn.forward(y);
}

}  // namespace cuttle::layers
