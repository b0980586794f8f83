// Defines conv_batch_norm: a Conv2d followed by a BatchNorm2d (and optionally ReLU), with the
// convolution's bias folded away while the BatchNorm uses batch statistics.
#pragma once
#include "layers/conv.h"
#include "layers/norm.h"

namespace cuttle::layers {

// bn(conv(x)), relu'd when asked. While bn normalises with the batch's statistics, a bias added by the
// convolution cancels exactly: the convolution then runs without it, the bias enters the running mean
// only, and its gradient is the zero it truly is (BatchNorm2d::forward_shifted). That saves a full
// pass over the activation each way (the bias add forward, the bias-gradient reduction backward).
// Optimizers see a zero gradient, as PyTorch's rounding noise around zero, so training matches it
// (weight decay included). In eval mode the bias is added as usual. CUTTLE_CONV_BN_FOLD=0 turns the
// fold off (for benchmarks).
Var conv_batch_norm(Conv2d& conv, BatchNorm2d& bn, const Var& x, bool relu);

}  // namespace cuttle::layers
