// Float64 gradient checks of the element-wise functions, reductions and views.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/views.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
using V = std::vector<Var>;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck add/sub/mul/div same shape") {
  check_gradcheck([](const V& v) { return (v[0] + v[1]) * v[0] - v[1] / v[0]; },
                  {rand_uniform({3, 4}, 0.5, 2, 1), randn({3, 4}, 2)});
}

TEST_CASE("gradcheck broadcasting: second operand broadcast") {
  check_gradcheck([](const V& v) { return v[0] * v[1] + v[1]; }, {randn({2, 3, 4}, 3), randn({3, 1}, 4)});
}

TEST_CASE("gradcheck broadcasting: first operand broadcast") {
  check_gradcheck([](const V& v) { return v[0] / v[1] - v[0]; }, {randn({4}, 5), rand_uniform({3, 2, 4}, 0.5, 2, 6)});
}

TEST_CASE("gradcheck broadcasting: both operands broadcast") {
  check_gradcheck([](const V& v) { return v[0] * v[1]; }, {randn({3, 1, 5}, 7), randn({1, 4, 1}, 8)});
}

TEST_CASE("gradcheck pow maximum minimum") {
  check_gradcheck([](const V& v) { return pow(v[0], v[1]); }, {rand_uniform({5}, 0.5, 2, 9), randn({5}, 10)});
  // Operands kept apart so no element sits on the tie kink.
  Tensor a = randn({6}, 11);
  Tensor b = engine::add(a, Tensor::from_vector<double>({0.5, -0.5, 0.3, -0.3, 0.7, -0.7}, {6}));
  check_gradcheck([](const V& v) { return maximum(v[0], v[1]) + minimum(v[0], v[1]) * 2.0; }, {a, b});
}

TEST_CASE("gradcheck scalar arithmetic") {
  check_gradcheck([](const V& v) { return (2.0 - v[0]) * 3.0 + 1.0 / v[0] + pow(v[0], 2.5) - v[0] / 4.0; },
                  {rand_uniform({7}, 0.5, 2, 12)});
}

TEST_CASE("gradcheck unary math") {
  Tensor pos = rand_uniform({9}, 0.2, 2, 13);
  check_gradcheck([](const V& v) { return exp(v[0]) + log(v[0]) + sqrt(v[0]) + rsqrt(v[0]); }, {pos});
  check_gradcheck([](const V& v) { return sin(v[0]) * cos(v[0]) + square(v[0]) + reciprocal(v[0]); }, {pos});
  check_gradcheck([](const V& v) { return erf(v[0]) + log1p(v[0]) + expm1(v[0]) + neg(v[0]); }, {pos});
  check_gradcheck([](const V& v) { return abs(v[0]); }, {rand_uniform({9}, 0.2, 2, 14)});
}

// Activation inputs are drawn away from 0, where ReLU and ELU have kinks.
Tensor away_from_zero(uint64_t seed) {
  Tensor x = rand_uniform({4, 5}, 0.1, 2.0, seed);
  Tensor sign = engine::compare_scalar(engine::CompareOp::gt, rand_uniform({4, 5}, 0, 1, seed + 100), 0.5);
  return engine::where(sign, x, engine::unary(engine::UnaryOp::neg, x));
}

TEST_CASE("gradcheck relu") { check_gradcheck([](const V& v) { return relu(v[0]); }, {away_from_zero(15)}); }
TEST_CASE("gradcheck sigmoid") { check_gradcheck([](const V& v) { return sigmoid(v[0]); }, {randn({4, 5}, 16)}); }
TEST_CASE("gradcheck tanh") { check_gradcheck([](const V& v) { return tanh(v[0]); }, {randn({4, 5}, 17)}); }
TEST_CASE("gradcheck gelu") { check_gradcheck([](const V& v) { return gelu(v[0]); }, {randn({4, 5}, 18)}); }
TEST_CASE("gradcheck softplus") { check_gradcheck([](const V& v) { return softplus(v[0]); }, {randn({4, 5}, 19)}); }
TEST_CASE("gradcheck elu") {
  check_gradcheck([](const V& v) { return elu(v[0], 1.3); }, {away_from_zero(20)});
}

TEST_CASE("gradcheck clamp and where") {
  Tensor x = Tensor::from_vector<double>({-2.0, -0.5, 0.2, 0.7, 1.6, 3.0}, {6});
  check_gradcheck([](const V& v) { return clamp(v[0], -1.0, 1.0); }, {x});
  Tensor c = Tensor::from_vector<uint8_t>({1, 0, 1, 1, 0, 0}, {6});
  check_gradcheck([c](const V& v) { return where(c, v[0], v[1]); }, {randn({6}, 21), randn({1}, 22)});
}

TEST_CASE("gradcheck sum and mean over several axes") {
  check_gradcheck([](const V& v) { return sum(v[0], {0, 2}); }, {randn({2, 3, 4}, 23)});
  check_gradcheck([](const V& v) { return mean(v[0], {1, -1}, true); }, {randn({2, 3, 4}, 24)});
  check_gradcheck([](const V& v) { return sum(v[0]) + mean(v[0]); }, {randn({3, 4}, 25)});
}

TEST_CASE("gradcheck amax and amin") {
  check_gradcheck([](const V& v) { return sum(amax(v[0], {1})) + sum(amin(v[0], {0, 2}, false)); },
                  {randn({2, 5, 3}, 26)});
}

TEST_CASE("gradcheck var") {
  check_gradcheck([](const V& v) { return sum(var(v[0], {0, 2})) + sum(var(v[0], {1}, 0, true)); },
                  {randn({3, 4, 5}, 27)});
}

TEST_CASE("gradcheck views permute slice select expand reshape") {
  check_gradcheck(
      [](const V& v) {
        Var p = permute(v[0], {2, 0, 1});
        Var s = slice(p, 0, 1, 4, 2);
        Var e = expand(select(v[1], 0, 1), {2, 2, 3});
        return reshape(s, {2, -1}) * reshape(e, {2, 6}) + flatten(transpose(s, 1, 2), 1);
      },
      {randn({2, 3, 4}, 28), randn({3, 1, 3}, 29)});
}

}
