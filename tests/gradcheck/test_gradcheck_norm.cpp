// Float64 gradient checks of batch norm, layer norms, dropout and a small conv block, one test case
// per configuration.
#include "autograd/functions/conv.h"
#include "autograd/functions/dropout.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/norm.h"
#include "autograd/functions/pool.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck batch_norm training / affine") {
  Tensor rm = Tensor::zeros({2}, DType::f64), rv = Tensor::ones({2}, DType::f64);
  check_gradcheck([rm, rv](const V& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true); },
                  {randn({3, 2, 2, 2}, 500), randn({2}, 501), randn({2}, 502)});
}
TEST_CASE("gradcheck batch_norm training / no affine / no running stats") {
  check_gradcheck([](const V& v) { return batch_norm(v[0], Var(), Var(), Tensor(), Tensor(), true); },
                  {randn({2, 3, 3, 2}, 510)});
}
TEST_CASE("gradcheck batch_norm training on N x C input") {
  check_gradcheck([](const V& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true, 0.1, 1e-3); },
                  {randn({5, 3}, 520), randn({3}, 521), randn({3}, 522)});
}
TEST_CASE("gradcheck batch_norm eval / affine") {
  Tensor rm = randn({3}, 531), rv = rand_uniform({3}, 0.5, 2, 532);
  check_gradcheck([rm, rv](const V& v) { return batch_norm(v[0], v[1], v[2], rm, rv, false); },
                  {randn({2, 3, 2, 2}, 530), randn({3}, 533), randn({3}, 534)});
}
TEST_CASE("gradcheck batch_norm eval / no affine") {
  Tensor rm = randn({2}, 541), rv = rand_uniform({2}, 0.5, 2, 542);
  check_gradcheck([rm, rv](const V& v) { return batch_norm(v[0], Var(), Var(), rm, rv, false); },
                  {randn({2, 2, 3, 2}, 540)});
}
TEST_CASE("gradcheck layer_norm over the last axis / affine") {
  check_gradcheck([](const V& v) { return layer_norm(v[0], v[1], v[2]); },
                  {randn({3, 6}, 550), randn({6}, 551), randn({6}, 552)});
}
TEST_CASE("gradcheck layer_norm on a 3-D input / no affine") {
  check_gradcheck([](const V& v) { return layer_norm(v[0], Var(), Var()); }, {randn({2, 3, 4}, 560)});
}
TEST_CASE("gradcheck layer_norm2d / affine") {
  check_gradcheck([](const V& v) { return layer_norm2d(v[0], v[1], v[2]); },
                  {randn({2, 3, 3, 4}, 570), randn({3}, 571), randn({3}, 572)});
}
TEST_CASE("gradcheck layer_norm2d / no affine") {
  check_gradcheck([](const V& v) { return layer_norm2d(v[0], Var(), Var(), 1e-5); }, {randn({1, 4, 2, 3}, 580)});
}
TEST_CASE("gradcheck dropout p 0.4 (same mask every call)") {
  check_gradcheck(
      [](const V& v) {
        eng::Generator gen(590);  // reset per call: every evaluation draws the same mask
        return dropout(v[0], 0.4, true, &gen);
      },
      {randn({3, 5}, 591)});
}
TEST_CASE("gradcheck dropout in eval mode is the identity") {
  check_gradcheck([](const V& v) { return dropout(v[0], 0.5, false) * 2.0; }, {randn({3, 4}, 595)});
}
TEST_CASE("gradcheck conv2d -> batch_norm -> relu -> max_pool2d block") {
  check_gradcheck(
      [](const V& v) {
        Var y = conv2d(v[0], v[1], Var(), {1, 1, 1, 1, 1, 1, 1});
        return max_pool2d(tanh(batch_norm(y, v[2], Var(), Tensor(), Tensor(), true)), {2, 2}, {2, 2});
      },
      {randn({2, 2, 4, 4}, 600), randn({3, 2, 3, 3}, 601), randn({3}, 602)});
}

}
