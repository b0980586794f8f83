#include "layers/conv_bn_relu.h"


namespace cuttle::layers {

ConvBNReLU::ConvBNReLU(int64_t in, int64_t out, int64_t kernel, engine::Generator& gen, const Conv2dOptions& opts) {
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, gen, opts));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out));
}

// BatchNorm and ReLU run as one fused op.
Var ConvBNReLU::forward(const Var& x) { return bn->forward_relu(conv->forward(x)); }

}  // namespace cuttle::layers
