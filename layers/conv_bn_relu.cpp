#include "layers/conv_bn_relu.h"

#include "layers/conv_batch_norm.h"

namespace cuttle::layers {

ConvBNReLU::ConvBNReLU(int64_t in, int64_t out, int64_t kernel, engine::Generator& gen, const Conv2dOptions& opts) {
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, gen, opts));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out));
}

// BatchNorm and ReLU run as one fused op; the conv's bias folds into the BatchNorm while it trains.
Var ConvBNReLU::forward(const Var& x) { return conv_batch_norm(*conv, *bn, x, true); }

}  // namespace cuttle::layers
