// Tests of the element-wise and reduction kernels against direct computations.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/scalar_ops.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

TEST_SUITE("engine") {

TEST_CASE("binary ops broadcast in both directions") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
  Tensor b = Tensor::from_vector<float>({10, 20}, {1, 2});
  Tensor s = eng::add(a, b);
  CHECK(s.shape() == Shape{3, 2});
  CHECK(s.to_vector<float>() == std::vector<float>{11, 21, 12, 22, 13, 23});
  CHECK(eng::sub(b, a).to_vector<float>() == std::vector<float>{9, 19, 8, 18, 7, 17});
  CHECK(eng::mul(a, Tensor::scalar(2)).to_vector<float>() == std::vector<float>{2, 4, 6});
  CHECK(eng::maximum(a, Tensor::scalar(2)).to_vector<float>() == std::vector<float>{2, 2, 3});
  CHECK_THROWS_AS(eng::add(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})), cuttle::Error);
  CHECK_THROWS_AS(eng::add(Tensor::zeros({2}), Tensor::zeros({2}, DType::f64)), cuttle::Error);
}

TEST_CASE("binary ops on non-contiguous operands") {
  Tensor x = randn({4, 5}, 1);
  Tensor y = randn({5, 4}, 2).transpose(0, 1);
  Tensor r = eng::mul(x, y);
  std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>(), rv = r.to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) CHECK(rv[i] == doctest::Approx(xv[i] * yv[i]));
}

TEST_CASE("comparisons clamp and where") {
  Tensor a = Tensor::from_vector<float>({-2, 0, 3}, {3});
  CHECK(eng::compare_scalar(eng::CompareOp::gt, a, 0).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1});
  CHECK(eng::compare_scalar(eng::CompareOp::le, a, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 0});
  CHECK(eng::clamp(a, -1, 1).to_vector<float>() == std::vector<float>{-1, 0, 1});
  Tensor c = Tensor::from_vector<uint8_t>({1, 0, 1}, {3});
  CHECK(eng::where(c, a, Tensor::scalar(9)).to_vector<float>() == std::vector<float>{-2, 9, 3});
}

TEST_CASE("unary math matches the standard library") {
  Tensor x = rand_uniform({50}, 0.1, 3.0, 4);
  std::vector<double> v = x.to_vector<double>();
  auto check = [&](eng::UnaryOp op, double (*ref)(double)) {
    std::vector<double> r = eng::unary(op, x).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(r[i] == doctest::Approx(ref(v[i])).epsilon(1e-12));
  };
  check(eng::UnaryOp::exp, [](double t) { return std::exp(t); });
  check(eng::UnaryOp::log, [](double t) { return std::log(t); });
  check(eng::UnaryOp::sqrt, [](double t) { return std::sqrt(t); });
  check(eng::UnaryOp::tanh, [](double t) { return std::tanh(t); });
  check(eng::UnaryOp::sigmoid, [](double t) { return 1 / (1 + std::exp(-t)); });
  check(eng::UnaryOp::gelu, [](double t) { return 0.5 * t * (1 + std::erf(t / std::sqrt(2.0))); });
  check(eng::UnaryOp::softplus, [](double t) { return std::log(1 + std::exp(t)); });
  // Stable at the extremes.
  Tensor big = Tensor::from_vector<float>({-100, 100}, {2});
  std::vector<float> sp = eng::unary(eng::UnaryOp::softplus, big).to_vector<float>();
  CHECK(sp[0] >= 0);
  CHECK(sp[1] == doctest::Approx(100));
  std::vector<float> sg = eng::unary(eng::UnaryOp::sigmoid, big).to_vector<float>();
  CHECK(sg[0] == doctest::Approx(0));
  CHECK(sg[1] == doctest::Approx(1));
  CHECK(eng::unary(eng::UnaryOp::elu, Tensor::from_vector<double>({-1.0}, {1}), 2.0).item() ==
        doctest::Approx(2 * (std::exp(-1.0) - 1)));
}

TEST_CASE("reductions over any axes") {
  Tensor x = Tensor::arange(24, DType::f64).view({2, 3, 4});
  CHECK(eng::sum(x).item() == 276);
  CHECK(eng::sum(x, {0, 2}).to_vector<double>() == std::vector<double>{60, 92, 124});
  CHECK(eng::sum(x, {1}, true).shape() == Shape{2, 1, 4});
  CHECK(eng::mean(x, {-1}).to_vector<double>()[0] == 1.5);
  CHECK(eng::amax(x, {1}).to_vector<double>() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(eng::amin(x, {0, 1}).to_vector<double>() == std::vector<double>{0, 1, 2, 3});
  CHECK(eng::argmax(x.permute({2, 1, 0}), 2).to_vector<int64_t>()[0] == 1);
  CHECK(eng::var(Tensor::from_vector<double>({1, 2, 3, 4}, {4})).item() == doctest::Approx(5.0 / 3));
  CHECK(eng::var(Tensor::from_vector<double>({1, 2, 3, 4}, {4}), {}, 0).item() == doctest::Approx(1.25));
  CHECK(eng::sum_to_shape(Tensor::ones({2, 3, 4}), {3, 1}).to_vector<float>() == std::vector<float>{8, 8, 8});
  CHECK(eng::sum(Tensor::from_vector<int32_t>({1, 2, 3}, {3})).dtype() == DType::i64);
  // argmax takes the first of ties.
  CHECK(eng::argmax(Tensor::from_vector<float>({1, 5, 5, 2}, {4}), 0).item() == 1);
}

TEST_CASE("in-place updates") {
  Tensor a = Tensor::ones({2, 2});
  eng::add_(a, Tensor::from_vector<float>({1, 2}, {2}), 0.5);
  CHECK(a.to_vector<float>() == std::vector<float>{1.5f, 2.0f, 1.5f, 2.0f});
  eng::mul_scalar_(a, 2);
  CHECK(a.to_vector<float>() == std::vector<float>{3, 4, 3, 4});
  eng::add_scalar_(a, -0.5);
  CHECK(a.to_vector<float>() == std::vector<float>{2.5f, 3.5f, 2.5f, 3.5f});
  Tensor n = Tensor::zeros({}, DType::i64);  // BatchNorm's num_batches_tracked
  eng::add_scalar_(n, 1);
  eng::add_scalar_(n, 1);
  CHECK(n.item() == 2);
}

}

TEST_SUITE("engine") {

// The f32 fast paths (Eigen SIMD) must agree with the f64 generic kernels.
TEST_CASE("vectorised f32 unary ops match the f64 kernels") {
  Tensor x64 = rand_uniform({5000}, -12, 12, 31);
  Tensor pos64 = rand_uniform({5000}, 1e-3, 50, 32);
  Tensor g64 = randn({5000}, 33);
  using U = eng::UnaryOp;
  for (U op : {U::neg, U::exp, U::abs, U::square, U::erf, U::relu, U::sigmoid, U::tanh, U::gelu, U::log, U::sqrt,
               U::rsqrt}) {
    const bool needs_positive = op == U::log || op == U::sqrt || op == U::rsqrt;
    Tensor in = needs_positive ? pos64 : x64;
    if (op == U::exp) in = eng::clamp(in, -12, 8);
    Tensor ref = eng::unary(op, in);
    Tensor got = eng::unary(op, in.to(DType::f32));
    std::vector<double> r = ref.to_vector<double>(), o = got.to_vector<double>();
    for (size_t i = 0; i < r.size(); ++i) {
      INFO(eng::unary_op_name(op), " at ", in.to_vector<double>()[i]);
      CHECK(std::abs(o[i] - r[i]) <= 1e-6 + 3e-6 * std::abs(r[i]));
    }
  }
  for (U op : {U::gelu, U::sigmoid, U::tanh, U::relu}) {
    Tensor y64 = eng::unary(op, x64);
    Tensor ref = eng::unary_backward(op, g64, x64, y64);
    Tensor got = eng::unary_backward(op, g64.to(DType::f32), x64.to(DType::f32), y64.to(DType::f32));
    std::vector<double> r = ref.to_vector<double>(), o = got.to_vector<double>();
    for (size_t i = 0; i < r.size(); ++i) {
      INFO(eng::unary_op_name(op), " backward at ", x64.to_vector<double>()[i]);
      CHECK(std::abs(o[i] - r[i]) <= 1e-6 + 3e-6 * std::abs(r[i]));
    }
  }
}

TEST_CASE("the derivative tables name every input unary_derivative reads") {
  // The CUDA backward loads only what derivative_reads_x / _y name; an input read but not named would
  // silently become 0 there. Replacing every unnamed input with garbage must not change a derivative.
  using U = eng::UnaryOp;
  const double garbage = 12345.678;
  for (U op : {U::neg, U::exp, U::log, U::sqrt, U::rsqrt, U::abs, U::sign, U::sin, U::cos, U::square, U::reciprocal,
               U::erf, U::relu, U::sigmoid, U::tanh, U::gelu, U::softplus, U::elu, U::log1p, U::expm1}) {
    INFO(eng::unary_op_name(op));
    for (double x : {-1.7, -0.3, 0.4, 2.5}) {
      const bool positive = op == U::log || op == U::sqrt || op == U::rsqrt || op == U::reciprocal;
      const double in = positive ? std::fabs(x) : x, y = eng::scalar::unary<double>(op, in, 1.3);
      const double want = eng::scalar::unary_derivative<double>(op, in, y, 1.3);
      const double got = eng::scalar::unary_derivative<double>(op, eng::scalar::derivative_reads_x(op) ? in : garbage,
                                                               eng::scalar::derivative_reads_y(op) ? y : garbage, 1.3);
      CHECK(got == want);
    }
  }
}

}
