// Tests of Sequential's fusions (layers/container.cpp): BatchNorm2d followed by ReLU, and a biased
// Conv2d followed by BatchNorm2d with its bias folded away (layers/conv_batch_norm.h). Each gives the
// unfused layers' output, input and parameter gradients and running statistics, in training and in
// eval mode.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "layers/activation.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "layers/norm.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

namespace {

struct Run {
  Tensor y, gx, gw, gb, running_mean, running_var;
};

Run run(bool fused, bool training) {
  auto bn = std::make_shared<layers::BatchNorm2d>(4);
  bn->weight.mutable_data().copy_(randn({4}, 640, DType::f64).to(DType::f32));
  bn->bias.mutable_data().copy_(randn({4}, 641, DType::f32));
  auto seq = std::make_shared<layers::Sequential>();
  seq->push_back(bn);
  seq->push_back(std::make_shared<layers::ReLU>());
  seq->train(training);
  const Tensor x = randn({3, 4, 5, 6}, 642, DType::f32), v = randn({3, 4, 5, 6}, 643, DType::f32);
  Var xv(x, true);
  Var y = fused ? seq->forward(xv) : autograd::relu(bn->forward(xv));
  if (fused) CHECK(y.creator()->name() == "batch_norm_relu");
  autograd::sum(autograd::mul(y, Var(v))).backward();
  return {y.data(), xv.grad(), bn->weight.grad(), bn->bias.grad(), bn->running_mean().clone(), bn->running_var().clone()};
}

struct ConvRun {
  Tensor y, gx, gw, gb, bn_gw, running_mean, running_var;
  std::string creator;
};

// conv (biased, 3 -> 4) -> BatchNorm2d [-> ReLU], through Sequential (folded) or layer by layer.
ConvRun conv_run(bool folded, bool training, bool relu, double momentum, bool track) {
  engine::Generator gen(650);
  auto conv = std::make_shared<layers::Conv2d>(3, 4, 3, gen, layers::Conv2dOptions().with_padding(1));
  conv->to(DType::f64);
  conv->bias.mutable_data().copy_(randn({4}, 651, DType::f64));  // large enough to matter
  layers::BatchNormOptions bo;
  bo.momentum = momentum;
  bo.track_running_stats = track;
  auto bn = std::make_shared<layers::BatchNorm2d>(4, bo);
  bn->to(DType::f64);
  bn->weight.mutable_data().copy_(randn({4}, 652, DType::f64));
  if (track) bn->running_mean().copy_(randn({4}, 653, DType::f64));
  auto seq = std::make_shared<layers::Sequential>();
  seq->push_back(conv);
  seq->push_back(bn);
  if (relu) seq->push_back(std::make_shared<layers::ReLU>());
  seq->train(training);
  const Tensor x = randn({2, 3, 5, 6}, 654, DType::f64), v = randn({2, 4, 5, 6}, 655, DType::f64);
  Var xv(x, true);
  Var y;
  if (folded) {
    y = seq->forward(xv);
  } else {
    y = bn->forward(conv->forward(xv));
    if (relu) y = autograd::relu(y);
  }
  autograd::sum(autograd::mul(y, Var(v))).backward();
  ConvRun r{y.data(), xv.grad(), conv->weight.grad(), conv->bias.grad(), bn->weight.grad(), {}, {},
            y.creator() ? y.creator()->name() : ""};
  if (track) r.running_mean = bn->running_mean().clone(), r.running_var = bn->running_var().clone();
  return r;
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("Sequential folds a conv bias into the BatchNorm2d after it while it uses batch statistics") {
  for (bool training : {true, false})
    for (bool relu : {true, false})
      for (double momentum : {0.1, 1.0})
        for (bool track : {true, false}) {
          INFO("training ", training, ", relu ", relu, ", momentum ", momentum, ", running stats ", track);
          const ConvRun folded = conv_run(true, training, relu, momentum, track),
                        plain = conv_run(false, training, relu, momentum, track);
          const bool batch_stats = training || !track;
          // The fold applies exactly while the statistics are the batch's (zero_gradient_for on top).
          CHECK((folded.creator == "zero_gradient_for") == batch_stats);
          CHECK(max_rel_diff(folded.y, plain.y) <= 1e-12);
          CHECK(max_rel_diff(folded.gx, plain.gx) <= 1e-12);
          CHECK(max_rel_diff(folded.gw, plain.gw) <= 1e-12);
          CHECK(max_rel_diff(folded.bn_gw, plain.bn_gw) <= 1e-12);
          // The bias gradient is defined either way: zero when folded, rounding noise when computed.
          REQUIRE(folded.gb.defined());
          CHECK(max_rel_diff(folded.gb, plain.gb) <= 1e-12);
          if (batch_stats)
            for (double g : folded.gb.to_vector<double>()) CHECK(g == 0.0);
          if (track) {
            CHECK(max_rel_diff(folded.running_mean, plain.running_mean) <= 1e-12);
            CHECK(max_rel_diff(folded.running_var, plain.running_var) <= 1e-12);
          }
        }
}


TEST_CASE("Sequential fuses BatchNorm2d with the ReLU after it") {
  for (bool training : {true, false}) {
    INFO("training ", training);
    const Run fused = run(true, training), plain = run(false, training);
    CHECK(max_rel_diff(fused.y, plain.y) <= 1e-6);
    CHECK(max_rel_diff(fused.gx, plain.gx) <= 1e-5);
    CHECK(max_rel_diff(fused.gw, plain.gw) <= 1e-5);
    CHECK(max_rel_diff(fused.gb, plain.gb) <= 1e-5);
    CHECK(max_rel_diff(fused.running_mean, plain.running_mean) <= 1e-6);
    CHECK(max_rel_diff(fused.running_var, plain.running_var) <= 1e-6);
  }
}

}
