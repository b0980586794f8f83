#include "layers/conv_bn_relu.h"

#include "autograd/functions/elementwise.h"

namespace cuttle::layers {

ConvBNReLU::ConvBNReLU(int64_t in, int64_t out, int64_t kernel, engine::Generator& gen, const Conv2dOptions& opts) {
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, gen, opts));
  bn = register_module("bn", std::make_shared<BatchNorm2d>(out));
}

Var ConvBNReLU::forward(const Var& x) { return autograd::relu(bn->forward(conv->forward(x))); }

}  // namespace cuttle::layers
