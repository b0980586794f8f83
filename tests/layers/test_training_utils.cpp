// Tests of the training utilities on modules: the EMA of weights (parameters and buffers) and
// gradient accumulation over micro-batches.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/join.h"
#include "layers/conv.h"
#include "layers/ema.h"
#include "layers/norm.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

TEST_SUITE("layers") {

TEST_CASE("ModelEMA averages parameters and floating buffers and copies counters") {
  engine::Generator gen(1);
  layers::BatchNorm2d bn(3);
  layers::ModelEMA ema(bn, 0.9);
  const std::vector<float> w0 = bn.weight.data().to_vector<float>();
  bn.weight.mutable_data().fill_(3.0);
  bn(Var(randn({4, 3, 2, 2}, 2, DType::f32)));  // training: running stats and the counter move
  ema.update(bn);
  std::map<std::string, Tensor> s(ema.state().begin(), ema.state().end());
  for (size_t c = 0; c < 3; ++c)
    CHECK(s.at("weight").to_vector<float>()[c] == doctest::Approx(0.9 * w0[c] + 0.1 * 3.0));
  CHECK(s.at("num_batches_tracked").item<int64_t>() == 1);
  const std::vector<float> rv = bn.buffer("running_var").to_vector<float>();
  CHECK(s.at("running_var").to_vector<float>()[0] == doctest::Approx(0.9 * 1.0 + 0.1 * rv[0]));
  layers::BatchNorm2d copy(3);
  ema.copy_to(copy);
  CHECK(copy.weight.data().to_vector<float>() == s.at("weight").to_vector<float>());
  CHECK_THROWS_AS(layers::ModelEMA(bn, 1.0), cuttle::Error);
}

TEST_CASE("accumulating gradients over two half batches equals one full batch") {
  engine::Generator gen(3);
  layers::Conv2d conv(2, 3, 3, gen, layers::Conv2dOptions::same(3));
  conv.to(DType::f64);
  Tensor x = randn({4, 2, 5, 5}, 4);
  auto loss = [&](const Tensor& xs, double scale) {
    return autograd::mul(autograd::mean(autograd::square(conv(Var(xs)))), scale);
  };
  loss(x, 1.0).backward();
  const std::vector<double> full = conv.weight.grad().to_vector<double>();
  conv.zero_grad();
  loss(x.slice(0, 0, 2), 0.5).backward();
  loss(x.slice(0, 2, 4), 0.5).backward();
  const std::vector<double> acc = conv.weight.grad().to_vector<double>();
  for (size_t i = 0; i < full.size(); ++i) CHECK(acc[i] == doctest::Approx(full[i]).epsilon(1e-12));
}

}
