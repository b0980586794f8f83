// Tests of the tape: accumulation, detach, no-grad, freed graphs, unused parameters and misuse errors.
#include "autograd/backward.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/views.h"
#include "autograd/grad_mode.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;

TEST_SUITE("autograd") {

TEST_CASE("gradient of a small expression and accumulation over calls") {
  Var x(Tensor::from_vector<double>({1, 2, 3}, {3}), true);
  Var y = sum(x * x + 3.0 * x);  // dy/dx = 2x + 3
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7, 9});
  Var y2 = sum(x * 2.0);
  y2.backward();  // accumulates
  CHECK(x.grad().to_vector<double>() == std::vector<double>{7, 9, 11});
  x.zero_grad();
  CHECK(!x.grad().defined());
}

TEST_CASE("a value used twice gets both contributions") {
  Var x(Tensor::from_vector<double>({2.0}, {1}), true);
  Var a = x * 3.0;
  Var b = a * a + a;  // 9x^2 + 3x -> 18x + 3 = 39
  sum(b).backward();
  CHECK(x.grad().item() == doctest::Approx(39));
}

TEST_CASE("detach and NoGradGuard stop the tape") {
  Var x(Tensor::from_vector<double>({2.0}, {1}), true);
  Var d = (x * 3.0).detach();
  CHECK(!d.requires_grad());
  CHECK(d.is_leaf());
  {
    NoGradGuard ng;
    Var z = x * 5.0;
    CHECK(!z.requires_grad());
  }
  Var w = x * d;  // d is a constant 6
  sum(w).backward();
  CHECK(x.grad().item() == doctest::Approx(6));
}

TEST_CASE("backward twice through a freed graph is a clear error") {
  Var x(Tensor::from_vector<double>({1, 2}, {2}), true);
  Var y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: the graph was retained
  CHECK(x.grad().to_vector<double>()[0] == doctest::Approx(2 * std::exp(1.0)));
  try {
    y.backward();
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    CHECK(std::string(e.what()).find("already freed") != std::string::npos);
  }
}

TEST_CASE("misuse errors name the op and the shapes") {
  Var a(Tensor::zeros({2, 3}, DType::f64), true), b(Tensor::zeros({4}, DType::f64), true);
  try {
    add(a, b);
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    std::string m = e.what();
    CHECK(m.find("add") != std::string::npos);
    CHECK(m.find("[2,3]") != std::string::npos);
  }
  Var c(Tensor::zeros({2, 3}, DType::f32), true);
  CHECK_THROWS_AS(add(a, c), cuttle::Error);  // dtype mismatch
  Var nograd(Tensor::zeros({1}, DType::f64));
  CHECK_THROWS_AS(nograd.backward(), cuttle::Error);
  Var big = a * 2.0;
  CHECK_THROWS_AS(big.backward(), cuttle::Error);  // non-scalar needs an explicit gradient
  CHECK_THROWS_AS(Var(Tensor::zeros({1}, DType::i64), true), cuttle::Error);
}

TEST_CASE("an unused leaf gets no gradient and a constant input none either") {
  Var used(Tensor::ones({2}, DType::f64), true), unused(Tensor::ones({2}, DType::f64), true);
  Var constant(Tensor::ones({2}, DType::f64));
  sum(used * constant).backward();
  CHECK(used.grad().defined());
  CHECK(!unused.grad().defined());
  CHECK(!constant.grad().defined());
}

TEST_CASE("saved tensors are freed after backward") {
  Var x(Tensor::ones({1000}, DType::f64), true);
  Tensor big = Tensor::ones({1000}, DType::f64);
  std::weak_ptr<engine::Storage> watch = big.storage();
  Var y;
  {
    Var w(big);
    big = Tensor();
    y = sum(x * w);  // the mul node saves w's data
  }
  CHECK(!watch.expired());
  y.backward();
  CHECK(watch.expired());
}

TEST_CASE("a deep chain does not overflow the stack") {
  Var x(Tensor::ones({1}, DType::f64), true);
  Var y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  sum(y).backward();
  CHECK(x.grad().item() == 1.0);
}

}
