// Tests of Sequential's fusion of BatchNorm2d followed by ReLU (layers/container.cpp): the fused op
// runs and gives the unfused layers' output, input and parameter gradients and running statistics,
// in training and in eval mode.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "layers/activation.h"
#include "layers/container.h"
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

}  // namespace

TEST_SUITE("layers") {

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
