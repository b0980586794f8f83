// The fused per-channel bias + activation: float64 gradient checks for every activation it takes,
// agreement with act(x + bias) and its unfused backward on the CPU, its errors, and Sequential's fusion
// of a biased Conv2d followed by ReLU or GELU (the values and gradients of running the layers apart).
#include "autograd/functions/bias_activation.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "layers/activation.h"
#include "layers/container.h"
#include "engine/ops/conv.h"
#include "layers/conv.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;
using U = eng::UnaryOp;

TEST_SUITE("gradcheck") {

// Random draws keep x + bias away from ReLU's kink by more than the finite-difference step.
TEST_CASE("gradcheck bias_activation for each activation") {
  for (U op : {U::relu, U::gelu, U::sigmoid, U::tanh, U::softplus, U::elu}) {
    INFO(eng::unary_op_name(op));
    check_gradcheck([op](const V& v) { return bias_activation(v[0], v[1], op, 0.7); },
                    {randn({2, 3, 3, 2}, 600), randn({3}, 601)});
  }
}

}

TEST_SUITE("engine") {

// The fused CPU loop runs the same element functions row by row; the vectorised f32 paths may round a
// row's tail differently from a whole-tensor call, so f32 agrees to a few ulp (f64 exactly: scalar code).
TEST_CASE("bias_activation agrees with the activation of the broadcast sum and rejects non-activations") {
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-6 : 0;
    const Tensor x = randn({2, 3, 4, 5}, 610, dt), b = randn({3}, 611, dt), g = randn({2, 3, 4, 5}, 614, dt);
    for (U op : {U::relu, U::gelu, U::sigmoid, U::tanh, U::softplus, U::elu}) {
      INFO(eng::dtype_name(dt), " ", eng::unary_op_name(op));
      const Tensor z = eng::add(x, b.reshape({1, 3, 1, 1})), y = eng::unary(op, z, 0.7);
      CHECK(max_rel_diff(eng::bias_activation(x, b, op, 0.7), y) <= tol);
      const eng::BiasActivationGrads d = eng::bias_activation_backward(g, x, b, op, 0.7, true);
      const Tensor gz = eng::unary_backward(op, g, z, y, 0.7);
      CHECK(max_rel_diff(d.x, gz) <= tol);
      CHECK(max_rel_diff(d.bias, eng::conv2d_backward_bias(gz)) <= tol);
    }
  }
  const Tensor x = randn({2, 3, 4, 5}, 610, DType::f32), b = randn({3}, 611, DType::f32);
  CHECK_THROWS_WITH_AS(eng::bias_activation(x, b, U::exp), doctest::Contains("not an activation"), cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::bias_activation(x, randn({4}, 612, DType::f32), U::relu), doctest::Contains("does not fit"),
                       cuttle::Error);
  CHECK_THROWS_AS(eng::bias_activation(x, b.to(DType::f64), U::relu), cuttle::Error);
  // Without the bias gradient only the input gradient comes back.
  const eng::BiasActivationGrads g = eng::bias_activation_backward(randn(x.shape(), 613, DType::f32), x, b, U::gelu, 1.0, false);
  CHECK(g.x.defined());
  CHECK_FALSE(g.bias.defined());
}

TEST_CASE("Sequential fuses a biased Conv2d with the ReLU or GELU after it") {
  for (bool gelu : {false, true}) {
    eng::Generator gen(620);
    auto seq = std::make_shared<layers::Sequential>();
    auto conv = seq->push_back(std::make_shared<layers::Conv2d>(3, 4, 3, gen, layers::Conv2dOptions().with_padding(1)));
    if (gelu) seq->push_back(std::make_shared<layers::GELU>());
    else seq->push_back(std::make_shared<layers::ReLU>());
    const Tensor x = randn({2, 3, 5, 6}, 621, DType::f32), v = randn({2, 4, 5, 6}, 622, DType::f32);
    Var x1(x, true), x2(x, true);
    Var fused = seq->forward(x1);
    CHECK(fused.creator()->name() == "bias_activation");
    Var plain = unary(gelu ? U::gelu : U::relu, conv->forward(x2));
    CHECK(max_rel_diff(fused.data(), plain.data()) <= 1e-6);
    sum(mul(fused, Var(v))).backward();
    const Tensor gw = conv->weight.grad().clone(), gb = conv->bias.grad().clone();
    conv->weight.zero_grad();
    conv->bias.zero_grad();
    sum(mul(plain, Var(v))).backward();
    CHECK(max_rel_diff(x1.grad(), x2.grad()) <= 1e-6);
    CHECK(max_rel_diff(gw, conv->weight.grad()) <= 1e-6);
    CHECK(max_rel_diff(gb, conv->bias.grad()) <= 1e-6);
  }
}

}
