// Edge cases found in review: several backward roots, ties in maximum/minimum, pow at zero, NaN
// propagation, independence of successive random draws, and 0-d tensors.
#include "autograd/backward.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/join.h"
#include "autograd/functions/reduce.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;

TEST_SUITE("autograd") {

TEST_CASE("backward from several roots where one root feeds the other") {
  Var x(Tensor::from_vector<double>({2.0}, {1}), true);
  Var a = x * 3.0;      // da/dx = 3
  Var b = a * a;        // db/dx = 2 a * 3 = 36
  backward({a, b}, {Tensor::ones({1}, DType::f64), Tensor::ones({1}, DType::f64)});
  CHECK(x.grad().item() == doctest::Approx(39));
}

TEST_CASE("a split output used as the root gives zeros to its siblings") {
  Var x(Tensor::from_vector<double>({1, 2, 3, 4}, {4}), true);
  std::vector<Var> parts = split(x, {1, 3}, 0);
  sum(parts[1] * 2.0).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 2, 2, 2});
}

TEST_CASE("a non-contiguous gradient reaching a leaf is copied, not aliased") {
  Var x(Tensor::zeros({2, 3}, DType::f64), true);
  Tensor g = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}).transpose(0, 1);
  x.backward(g);
  CHECK(!x.grad().shares_storage(g));
  CHECK(x.grad().contiguous().to_vector<double>() == g.contiguous().to_vector<double>());
}

TEST_CASE("maximum and minimum split the gradient at ties") {
  Var a(Tensor::from_vector<double>({0.0, 1.0, -1.0}, {3}), true), b(Tensor::zeros({3}, DType::f64), true);
  sum(maximum(a, b)).backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0.5, 1.0, 0.0});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{0.5, 0.0, 1.0});
  a.zero_grad();
  b.zero_grad();
  sum(minimum(a, b)).backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0.5, 0.0, 1.0});
}

TEST_CASE("pow gradients at zero follow the limits PyTorch uses") {
  Var x(Tensor::from_vector<double>({0.0, 2.0}, {2}), true);
  sum(pow(x, 0.0)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0.0, 0.0});
  Var base(Tensor::from_vector<double>({0.0, 0.0}, {2}), true), ex(Tensor::from_vector<double>({0.0, 2.0}, {2}), true);
  sum(pow(base, ex)).backward();
  for (double v : base.grad().to_vector<double>()) CHECK(v == 0.0);
  for (double v : ex.grad().to_vector<double>()) CHECK(v == 0.0);
}

}

TEST_SUITE("engine") {

TEST_CASE("NaN propagates through maximum minimum and argmax") {
  const double nan = std::nan("");
  Tensor a = Tensor::from_vector<double>({nan, 1.0}, {2}), b = Tensor::from_vector<double>({1.0, nan}, {2});
  for (double v : eng::maximum(a, b).to_vector<double>()) CHECK(std::isnan(v));
  for (double v : eng::minimum(a, b).to_vector<double>()) CHECK(std::isnan(v));
  CHECK(eng::argmax(Tensor::from_vector<double>({1.0, nan, 5.0}, {3}), 0).item() == 1);
}

TEST_CASE("successive draws of one generator never reuse counters") {
  // normal() reads two counters per element; a following uniform draw must not see them again.
  engine::Generator g(0);
  Tensor n = engine::normal({64}, 0, 1, DType::f64, &g);
  const uint64_t after = g.offset();
  CHECK(after == 128);
  Tensor u = engine::uniform({64}, 0, 1, DType::f64, &g);
  for (int64_t i = 0; i < 64; ++i)
    for (uint64_t c = 0; c < 128; ++c) CHECK(u.to_vector<double>()[i] != engine::random_unit(0, c));
}

TEST_CASE("0-d tensors reduce over axis 0 and reject views along it") {
  Tensor s = Tensor::scalar(2.0, DType::f64);
  CHECK(eng::sum(s, {0}).item() == 2.0);
  CHECK(eng::mean(s, {-1}).item() == 2.0);
  CHECK(eng::sum(s).shape() == Shape{});
  CHECK_THROWS_AS(s.slice(0, 0, 1), cuttle::Error);
  CHECK_THROWS_AS(s.size(0), cuttle::Error);
  CHECK_THROWS_AS(eng::sum(s, {1}), cuttle::Error);
  CHECK(s.unsqueeze(0).shape() == Shape{1});
  CHECK(eng::var(Tensor::from_vector<double>({1.0, 3.0}, {2}), {}, 2).item() == INFINITY);
}

}
