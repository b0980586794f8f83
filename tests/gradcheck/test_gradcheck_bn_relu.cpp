// The fused batch norm + ReLU: float64 gradient checks (training and eval, with and without affine
// parameters; with_zero_gradient_for on top) and, on the CPU, equality with relu(batch_norm(x)) in values, statistics and gradients.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/norm.h"
#include "autograd/functions/reduce.h"
#include "engine/ops/norm.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

// Random draws put no normalised value within the finite-difference step of the ReLU's kink.
TEST_CASE("gradcheck batch_norm_relu training / affine") {
  Tensor rm = Tensor::zeros({2}, DType::f64), rv = Tensor::ones({2}, DType::f64);
  check_gradcheck([rm, rv](const V& v) { return batch_norm_relu(v[0], v[1], v[2], rm, rv, true); },
                  {randn({3, 2, 2, 2}, 560), randn({2}, 561), randn({2}, 562)});
}
TEST_CASE("gradcheck batch_norm_relu training / no affine") {
  check_gradcheck([](const V& v) { return batch_norm_relu(v[0], Var(), Var(), Tensor(), Tensor(), true); },
                  {randn({2, 3, 3, 2}, 570)});
}
TEST_CASE("gradcheck batch_norm_relu eval / affine") {
  Tensor rm = randn({3}, 581), rv = rand_uniform({3}, 0.5, 2, 582);
  check_gradcheck([rm, rv](const V& v) { return batch_norm_relu(v[0], v[1], v[2], rm, rv, false); },
                  {randn({2, 3, 2, 2}, 580), randn({3}, 583), randn({3}, 584)});
}

// The zero gradient of a shift that batch statistics cancel (layers/conv_batch_norm.h): y's gradient
// passes through, the shift's is zero, and so is the finite difference (the output ignores it).
TEST_CASE("gradcheck with_zero_gradient_for") {
  check_gradcheck([](const V& v) { return with_zero_gradient_for(batch_norm_relu(v[0], Var(), Var(), Tensor(), Tensor(), true), v[1]); },
                  {randn({2, 3, 3, 2}, 595), randn({3}, 596)});
}

}

TEST_SUITE("engine") {

TEST_CASE("batch_norm_relu equals relu of batch_norm on the CPU") {
  for (bool training : {true, false}) {
    Tensor x = randn({3, 4, 5, 2}, 590, DType::f32), w = randn({4}, 591, DType::f32), b = randn({4}, 592, DType::f32);
    Tensor rm1 = randn({4}, 593, DType::f32), rv1 = rand_uniform({4}, 0.5, 2, 594, DType::f32);
    Tensor rm2 = rm1.clone(), rv2 = rv1.clone();
    Var xv1(x, true), wv1(w, true), bv1(b, true), xv2(x, true), wv2(w, true), bv2(b, true);
    Var fused = batch_norm_relu(xv1, wv1, bv1, rm1, rv1, training);
    Var plain = relu(batch_norm(xv2, wv2, bv2, rm2, rv2, training));
    CHECK(fused.data().to_vector<float>() == plain.data().to_vector<float>());
    CHECK(rm1.to_vector<float>() == rm2.to_vector<float>());
    CHECK(rv1.to_vector<float>() == rv2.to_vector<float>());
    Tensor v = randn({3, 4, 5, 2}, 595, DType::f32);
    sum(mul(fused, Var(v))).backward();
    sum(mul(plain, Var(v))).backward();
    CHECK(xv1.grad().to_vector<float>() == xv2.grad().to_vector<float>());
    CHECK(wv1.grad().to_vector<float>() == wv2.grad().to_vector<float>());
    CHECK(bv1.grad().to_vector<float>() == bv2.grad().to_vector<float>());
  }
}

}
