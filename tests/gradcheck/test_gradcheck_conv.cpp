// Float64 gradient checks of conv2d, one test case per configuration, and a check that gradcheck
// catches a deliberately wrong convolution backward.
#include "autograd/functions/conv.h"
#include "engine/ops/elementwise.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using eng::Conv2dParams;
using V = std::vector<Var>;

namespace {
// Differentiates x, w and (when `bias`) b.
void check_conv(const Shape& xs, const Shape& ws, const Conv2dParams& p, bool bias, uint64_t seed) {
  std::vector<Tensor> in{randn(xs, seed), randn(ws, seed + 1)};
  if (bias) in.push_back(randn({ws[0]}, seed + 2));
  check_gradcheck([p, bias](const V& v) { return conv2d(v[0], v[1], bias ? v[2] : Var(), p); }, in);
}
}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck conv2d plain 3x3 pad 1") { check_conv({2, 2, 5, 5}, {3, 2, 3, 3}, {1, 1, 1, 1, 1, 1, 1}, false, 100); }
TEST_CASE("gradcheck conv2d stride 2") { check_conv({1, 2, 6, 5}, {2, 2, 3, 3}, {2, 2, 1, 1, 1, 1, 1}, false, 110); }
TEST_CASE("gradcheck conv2d dilation 2") { check_conv({1, 2, 7, 7}, {2, 2, 3, 3}, {1, 1, 2, 2, 2, 2, 1}, false, 120); }
TEST_CASE("gradcheck conv2d dilation 4") { check_conv({1, 1, 9, 9}, {2, 1, 3, 3}, {1, 1, 4, 4, 4, 4, 1}, false, 130); }
TEST_CASE("gradcheck conv2d groups 2") { check_conv({1, 4, 5, 5}, {4, 2, 3, 3}, {1, 1, 1, 1, 1, 1, 2}, false, 140); }
TEST_CASE("gradcheck conv2d depthwise 3x3") { check_conv({2, 3, 5, 5}, {3, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 3}, true, 150); }
TEST_CASE("gradcheck conv2d depthwise multiplier 2 / stride 2") {
  check_conv({1, 2, 6, 6}, {4, 1, 3, 3}, {2, 2, 1, 1, 1, 1, 2}, false, 160);
}
TEST_CASE("gradcheck conv2d depthwise 5x5") { check_conv({1, 2, 7, 7}, {2, 1, 5, 5}, {1, 1, 2, 2, 1, 1, 2}, false, 170); }
TEST_CASE("gradcheck conv2d depthwise dilation 2") { check_conv({1, 2, 7, 6}, {2, 1, 3, 3}, {1, 1, 2, 2, 2, 2, 2}, true, 175); }
TEST_CASE("gradcheck conv2d with bias") { check_conv({2, 2, 4, 4}, {3, 2, 3, 3}, {1, 1, 1, 1, 1, 1, 1}, true, 180); }
TEST_CASE("gradcheck conv2d 1x1") { check_conv({2, 3, 4, 4}, {2, 3, 1, 1}, {}, true, 190); }
TEST_CASE("gradcheck conv2d 1x1 stride 2") { check_conv({1, 3, 5, 5}, {2, 3, 1, 1}, {2, 2, 0, 0, 1, 1, 1}, false, 195); }
TEST_CASE("gradcheck conv2d non-square kernel / asymmetric stride and padding") {
  check_conv({1, 2, 5, 6}, {2, 2, 2, 4}, {1, 2, 1, 2, 1, 1, 1}, true, 200);
}
TEST_CASE("gradcheck conv2d strided / dilated and grouped together") {
  check_conv({1, 4, 7, 7}, {2, 2, 3, 3}, {2, 2, 2, 2, 2, 2, 2}, true, 210);
}

TEST_CASE("gradcheck conv2d input grad only") {
  const Conv2dParams p{2, 1, 1, 1, 1, 1, 1};
  Tensor w = randn({3, 2, 3, 3}, 221);
  check_gradcheck([w, p](const V& v) { return conv2d(v[0], Var(w), Var(), p); }, {randn({2, 2, 5, 4}, 220)});
}

TEST_CASE("gradcheck conv2d weight grad only") {
  const Conv2dParams p{1, 2, 1, 0, 1, 1, 1};
  Tensor x = randn({2, 2, 5, 4}, 230);
  check_gradcheck([x, p](const V& v) { return conv2d(Var(x), v[0], Var(), p); }, {randn({3, 2, 3, 3}, 231)});
}

TEST_CASE("gradcheck catches a wrong conv2d backward") {
  const Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
  Tensor w = randn({2, 2, 3, 3}, 241), x = randn({1, 2, 4, 4}, 240);
  // Forward is the real convolution; backward returns the input gradient scaled by 1.01.
  auto wrong = [w, p](const V& v) {
    return record("wrong_conv2d", eng::conv2d(v[0].data(), w, Tensor(), p), {v[0]},
                  [w, p, xs = v[0].shape()](const auto& g, const auto&) {
                    Tensor gx = eng::conv2d_backward_input(g[0], w, xs, p);
                    return std::vector<Tensor>{eng::binary_scalar(eng::BinaryOp::mul, gx, 1.01)};
                  });
  };
  GradcheckResult bad = gradcheck(wrong, {x});
  CHECK(bad.checked == 32);
  CHECK_FALSE(bad.ok);
  CHECK(gradcheck([w, p](const V& v) { return conv2d(v[0], Var(w), Var(), p); }, {x}).ok);
}

}
