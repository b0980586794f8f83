// Defines SmallCNN, the small convolutional backbone for CPU runs (CAMOXPERT.md, "Backbones"), and its
// two building blocks ConvBNReLU ("down") and ResBlock ("Res").
//
// With dims [C1, C2, C3, C4]:
//   stage 0 = down(3 -> C1/2), down(C1/2 -> C1), Res(C1)          -> stride 4
//   stage i = down(C(i-1) -> Ci), Res(Ci)        (i = 1, 2, 3)    -> strides 8, 16, 32
//   down(a -> b) = ReLU(BN(conv3x3 stride 2 pad 1 (x)))
//   Res(c)       = ReLU(x + BN(conv3x3(ReLU(BN(conv3x3 x)))))      (stride 1 pad 1)
// The convolutions carry no bias: each is followed by a BatchNorm whose shift makes one redundant.
// Initialisation: PyTorch's defaults (Conv2d uniform from the seeded Generator, BN ones/zeros).
//
// State names (PyTorch state_dict style), each stage a Sequential:
//   stages.0.0.conv.weight, stages.0.0.bn.{weight,bias,running_mean,running_var,num_batches_tracked}
//   stages.0.1.conv.weight, stages.0.1.bn.*
//   stages.0.2.conv1.weight, stages.0.2.bn1.*, stages.0.2.conv2.weight, stages.0.2.bn2.*
//   stages.i.0.conv.weight, stages.i.0.bn.*, stages.i.1.{conv1,bn1,conv2,bn2}.*   (i = 1, 2, 3)
// Parameters with dims [16, 32, 64, 128]: 491,272 (tests/models/test_small_cnn.cpp spells it out).
#pragma once
#include <memory>

#include "engine/random.h"
#include "layers/conv_bn_relu.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "models/backbones/backbone.h"

namespace cuttle::models {

// conv3x3 (stride `stride`, pad 1, no bias) -> BatchNorm2d -> ReLU. Names: conv, bn.
// "down": layers::ConvBNReLU with a bias-free conv3x3 of stride 2, padding 1.
std::shared_ptr<layers::ConvBNReLU> make_down(int64_t in, int64_t out, engine::Generator& gen);

// Residual block of two conv3x3 + BN at `channels`. Names: conv1, bn1, conv2, bn2.
class ResBlock : public layers::UnaryModule {
 public:
  ResBlock(int64_t channels, engine::Generator& gen);
  std::string type_name() const override { return "ResBlock"; }
  Var forward(const Var& x) override;
  std::shared_ptr<layers::Conv2d> conv1, conv2;
  std::shared_ptr<layers::BatchNorm2d> bn1, bn2;
};

class SmallCNN : public Backbone {
 public:
  // dims: channels of the four stages (C1 even and >= 2, all positive).
  explicit SmallCNN(engine::Generator& gen, std::array<int64_t, 4> dims = {16, 32, 64, 128});
  SmallCNN(std::array<int64_t, 4> dims, engine::Generator& gen) : SmallCNN(gen, dims) {}
  std::string type_name() const override { return "SmallCNN"; }
  std::vector<Var> features(const Var& x) override;
  std::array<int64_t, 4> dims() const override { return dims_; }
  std::shared_ptr<layers::ModuleList> stages;  // four Sequentials

 private:
  std::array<int64_t, 4> dims_;
};

}  // namespace cuttle::models
