#include "models/backbones/small_cnn.h"

#include "autograd/functions/elementwise.h"
#include "engine/error.h"

namespace cuttle::models {

namespace ag = cuttle::autograd;
using layers::BatchNorm2d;
using layers::Conv2d;
using layers::Conv2dOptions;
using layers::Sequential;

std::shared_ptr<layers::ConvBNReLU> make_down(int64_t in, int64_t out, engine::Generator& gen) {
  return std::make_shared<layers::ConvBNReLU>(in, out, 3, gen,
                                              Conv2dOptions().with_stride(2).with_padding(1).with_bias(false));
}

ResBlock::ResBlock(int64_t channels, engine::Generator& gen) {
  const Conv2dOptions o = Conv2dOptions().with_padding(1).with_bias(false);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(channels, channels, 3, gen, o));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(channels));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(channels, channels, 3, gen, o));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(channels));
}

Var ResBlock::forward(const Var& x) {
  Var h = bn1->forward_relu(conv1->forward(x));  // one fused op
  return ag::relu(x + bn2->forward(conv2->forward(h)));
}

SmallCNN::SmallCNN(engine::Generator& gen, std::array<int64_t, 4> dims) : dims_(dims) {
  for (int64_t d : dims) CUTTLE_CHECK(d > 0, "SmallCNN: every dim must be positive, got ", d);
  CUTTLE_CHECK(dims[0] % 2 == 0, "SmallCNN: C1 = ", dims[0], " must be even (stage 0 starts at C1/2)");
  stages = register_module("stages", std::make_shared<layers::ModuleList>());
  auto s0 = std::make_shared<Sequential>();
  s0->push_back(make_down(3, dims[0] / 2, gen));
  s0->push_back(make_down(dims[0] / 2, dims[0], gen));
  s0->push_back(std::make_shared<ResBlock>(dims[0], gen));
  stages->push_back(s0);
  for (int i = 1; i < 4; ++i) {
    auto s = std::make_shared<Sequential>();
    s->push_back(make_down(dims[i - 1], dims[i], gen));
    s->push_back(std::make_shared<ResBlock>(dims[i], gen));
    stages->push_back(s);
  }
}

std::vector<Var> SmallCNN::features(const Var& x) {
  CUTTLE_CHECK(x.dim() == 4 && x.size(1) == 3, "SmallCNN: input ", x.data().str(), " is not [B, 3, H, W]");
  CUTTLE_CHECK(x.size(2) % 32 == 0 && x.size(3) % 32 == 0, "SmallCNN: H x W = ", x.size(2), "x", x.size(3),
               " must be multiples of 32");
  std::vector<Var> out;
  Var h = x;
  for (int i = 0; i < 4; ++i) {
    h = stages->at<Sequential>(i)->forward(h);
    out.push_back(h);
  }
  return out;
}

}  // namespace cuttle::models
