// Tests of the tensor-op functions on Var beyond gradcheck: partial requires_grad, outputs that are
// plain tensors, multi-output nodes, and the loss values.
#include <cmath>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/index.h"
#include "autograd/functions/join.h"
#include "autograd/functions/linalg.h"
#include "autograd/functions/losses.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/softmax.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;

TEST_SUITE("autograd") {

TEST_CASE("matmul and linear fill only the gradients that are needed") {
  Var a(randn({3, 4}, 1)), b(randn({4, 2}, 2), true);
  sum(matmul(a, b)).backward();
  CHECK(!a.grad().defined());
  // d sum(a b) / db[k, j] = sum_i a[i, k]
  std::vector<double> va = a.data().to_vector<double>(), gb = b.grad().to_vector<double>();
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 2; ++j) CHECK(gb[k * 2 + j] == doctest::Approx(va[k] + va[4 + k] + va[8 + k]));
  Var x(randn({2, 4}, 3), true), w(randn({3, 4}, 4)), bias(randn({3}, 5), true);
  sum(linear(x, w, bias)).backward();
  CHECK(x.grad().shape() == Shape{2, 4});
  CHECK(!w.grad().defined());
  CHECK(bias.grad().to_vector<double>() == std::vector<double>{2, 2, 2});
}

TEST_CASE("topk returns plain indices and routes the gradient to them") {
  Var x(Tensor::from_vector<double>({1, 5, 3, 5}, {4}), true);
  TopKResult r = topk(x, 2);
  CHECK(r.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 3});
  sum(r.values * Var(Tensor::from_vector<double>({10, 20}, {2}))).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 10, 0, 20});
}

TEST_CASE("split pieces share one node; unused pieces get no gradient") {
  Var x(randn({5, 2}, 6), true);
  std::vector<Var> p = split(x, {2, 3}, 0);
  REQUIRE(p.size() == 2);
  CHECK(p[0].creator() == p[1].creator());
  sum(p[1]).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
}

TEST_CASE("index_add into a constant base") {
  Var base(Tensor::zeros({2, 2}, DType::f64)), src(randn({3, 2}, 7), true);
  Tensor idx = Tensor::from_vector<int64_t>({1, 1, 0}, {3});
  sum(index_add(base, 0, idx, src) * 2.0).backward();
  CHECK(src.grad().to_vector<double>() == std::vector<double>(6, 2.0));
}

TEST_CASE("loss values match their formulas and stay finite") {
  Tensor x = Tensor::from_vector<double>({-200, -1, 0, 2, 300}, {5});
  Tensor t = Tensor::from_vector<double>({0, 1, 0.5, 0, 1}, {5});
  std::vector<double> l = binary_cross_entropy_with_logits(Var(x), Var(t), Reduction::none).data().to_vector<double>();
  std::vector<double> vx = x.to_vector<double>(), vt = t.to_vector<double>();
  for (int i = 0; i < 5; ++i) {
    const double want = std::max(vx[i], 0.0) - vx[i] * vt[i] + std::log1p(std::exp(-std::abs(vx[i])));
    CHECK(std::isfinite(l[i]));
    CHECK(l[i] == doctest::Approx(want).epsilon(1e-12));
  }
  const double mean_l = binary_cross_entropy_with_logits(Var(x), Var(t)).item();
  CHECK(mean_l == doctest::Approx((l[0] + l[1] + l[2] + l[3] + l[4]) / 5));
  CHECK(mse_loss(Var(Tensor::from_vector<double>({1, 2}, {2})), Var(Tensor::from_vector<double>({0, 4}, {2}))).item() ==
        doctest::Approx(2.5));
  // cross_entropy = -log softmax at the target.
  Tensor logits = Tensor::from_vector<double>({1, 2, 3, 0, 0, 0}, {2, 3});
  Tensor target = Tensor::from_vector<int64_t>({2, 0}, {2});
  const double ce = cross_entropy(Var(logits), target, Reduction::sum).item();
  const double want = -(3 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0))) + std::log(3.0);
  CHECK(ce == doctest::Approx(want).epsilon(1e-12));
  CHECK_THROWS_AS(cross_entropy(Var(logits), Tensor::from_vector<int64_t>({3, 0}, {2})), cuttle::Error);
  CHECK_THROWS_AS(mse_loss(Var(logits), Var(randn({3, 2}, 8))), cuttle::Error);
}

}  // TEST_SUITE
