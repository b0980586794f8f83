// Tests of batch norm, layer norm and layer norm 2d against their formulas.
#include <cmath>

#include "engine/ops/norm.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

namespace {

// Per-channel mean and biased variance of x [N, C, S...].
void channel_stats(const Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  std::vector<double> v = x.to_vector<double>();
  mean.assign(C, 0);
  var.assign(C, 0);
  for (int64_t i = 0; i < (int64_t)v.size(); ++i) mean[i / S % C] += v[i] / double(N * S);
  for (int64_t i = 0; i < (int64_t)v.size(); ++i) {
    const double d = v[i] - mean[i / S % C];
    var[i / S % C] += d * d / double(N * S);
  }
}

Tensor bn_formula(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                  const std::vector<double>& w, const std::vector<double>& b, double eps) {
  const int64_t C = x.size(1), S = x.numel() / (x.size(0) * C);
  std::vector<double> v = x.to_vector<double>();
  for (int64_t i = 0; i < (int64_t)v.size(); ++i) {
    const int64_t c = i / S % C;
    v[i] = (v[i] - mean[c]) / std::sqrt(var[c] + eps) * (w.empty() ? 1.0 : w[c]) + (b.empty() ? 0.0 : b[c]);
  }
  return Tensor::from_vector(v, x.shape());
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("batch_norm training: batch statistics and the running-stat update") {
  Tensor x = randn({3, 2, 2, 3}, 20);
  Tensor w = Tensor::from_vector<double>({1.5, -0.5}, {2}), b = Tensor::from_vector<double>({0.1, 0.2}, {2});
  Tensor rm = Tensor::from_vector<double>({0.5, -1.0}, {2}), rv = Tensor::from_vector<double>({2.0, 3.0}, {2});
  eng::BatchNormResult r = eng::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
  std::vector<double> mean, var;
  channel_stats(x, mean, var);
  check_close(r.output, bn_formula(x, mean, var, {1.5, -0.5}, {0.1, 0.2}, 1e-5), 1e-12);
  check_close(r.save_mean, Tensor::from_vector(mean, {2}), 1e-14);
  check_close(r.save_invstd, Tensor::from_vector<double>({1 / std::sqrt(var[0] + 1e-5), 1 / std::sqrt(var[1] + 1e-5)}, {2}),
              1e-12);
  const double M = 18;  // values per channel; the running variance is unbiased
  check_close(rm, Tensor::from_vector<double>({0.9 * 0.5 + 0.1 * mean[0], 0.9 * -1.0 + 0.1 * mean[1]}, {2}), 1e-14);
  check_close(rv, Tensor::from_vector<double>({0.9 * 2 + 0.1 * var[0] * M / (M - 1), 0.9 * 3 + 0.1 * var[1] * M / (M - 1)}, {2}),
              1e-14);
  // No affine, no running stats, 2-D input.
  Tensor x2 = randn({5, 3}, 21);
  channel_stats(x2, mean, var);
  check_close(eng::batch_norm(x2, Tensor(), Tensor(), Tensor(), Tensor(), true).output, bn_formula(x2, mean, var, {}, {}, 1e-5),
              1e-12);
  // float32 agrees.
  Tensor rm32 = Tensor::zeros({2}, DType::f32), rv32 = Tensor::ones({2}, DType::f32);
  check_close(eng::batch_norm(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), rm32, rv32, true).output.to(DType::f64),
              r.output, 1e-5);
  CHECK_THROWS_AS(eng::batch_norm(randn({1, 2}, 1), Tensor(), Tensor(), Tensor(), Tensor(), true), cuttle::Error);
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), cuttle::Error);
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor::ones({3}, DType::f64), Tensor(), Tensor(), Tensor(), true), cuttle::Error);
}

TEST_CASE("batch_norm running_mean_shift enters the running mean only") {
  Tensor x = randn({3, 2, 2, 3}, 22), shift = Tensor::from_vector<double>({2.0, -3.0}, {2});
  Tensor rm = Tensor::from_vector<double>({0.5, -1.0}, {2}), rv = Tensor::from_vector<double>({2.0, 3.0}, {2});
  Tensor rm0 = rm.clone(), rv0 = rv.clone();
  const eng::BatchNormResult plain = eng::batch_norm(x, Tensor(), Tensor(), rm0, rv0, true, 0.1, 1e-5);
  const eng::BatchNormResult shifted = eng::batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1, 1e-5, shift);
  check_close(shifted.output, plain.output, 0);
  check_close(shifted.save_mean, plain.save_mean, 0);
  check_close(rv, rv0, 0);
  std::vector<double> mean, var;
  channel_stats(x, mean, var);
  check_close(rm, Tensor::from_vector<double>({0.9 * 0.5 + 0.1 * (mean[0] + 2.0), 0.9 * -1.0 + 0.1 * (mean[1] - 3.0)}, {2}),
              1e-14);
  // batch_norm_relu takes it the same way.
  Tensor rm_relu = Tensor::from_vector<double>({0.5, -1.0}, {2}), rv_relu = rv0.clone();
  eng::batch_norm_relu(x, Tensor(), Tensor(), rm_relu, rv_relu, true, 0.1, 1e-5, shift);
  check_close(rm_relu, rm, 0);
  // Only in training with running statistics, and only [C] of x's dtype.
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor(), Tensor(), rm, rv, false, 0.1, 1e-5, shift), cuttle::Error);
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, shift), cuttle::Error);
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1, 1e-5, Tensor::ones({3}, DType::f64)),
                  cuttle::Error);
  CHECK_THROWS_AS(eng::batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1, 1e-5, Tensor::ones({2}, DType::f32)),
                  cuttle::Error);
}

TEST_CASE("batch_norm eval uses the running statistics and leaves them alone") {
  Tensor x = randn({2, 3, 4}, 22);
  Tensor rm = Tensor::from_vector<double>({0.1, -0.2, 0.3}, {3}), rv = Tensor::from_vector<double>({1.0, 0.5, 2.0}, {3});
  Tensor w = Tensor::from_vector<double>({1, 2, 3}, {3}), b = Tensor::from_vector<double>({0, 1, 0}, {3});
  eng::BatchNormResult r = eng::batch_norm(x, w, b, rm, rv, false, 0.1, 1e-3);
  check_close(r.output, bn_formula(x, {0.1, -0.2, 0.3}, {1.0, 0.5, 2.0}, {1, 2, 3}, {0, 1, 0}, 1e-3), 1e-14);
  CHECK(rm.to_vector<double>() == std::vector<double>{0.1, -0.2, 0.3});
  CHECK(rv.to_vector<double>() == std::vector<double>{1.0, 0.5, 2.0});
  // Eval backward is a per-channel scale.
  Tensor g = randn(x.shape(), 23);
  eng::NormGrads gr = eng::batch_norm_backward(g, x, w, r.save_mean, r.save_invstd, false);
  std::vector<double> gv = g.to_vector<double>(), gx = gr.input.to_vector<double>();
  for (size_t i = 0; i < gv.size(); ++i) {
    const int64_t c = i / 4 % 3;
    CHECK(gx[i] == doctest::Approx(gv[i] * (c + 1) / std::sqrt(rv.to_vector<double>()[c] + 1e-3)));
  }
}

TEST_CASE("layer_norm over the last axis") {
  Tensor x = randn({2, 3, 5}, 24), w = randn({5}, 25), b = randn({5}, 26);
  eng::LayerNormResult r = eng::layer_norm(x, w, b, 1e-5);
  CHECK(r.mean.shape() == Shape{2, 3});
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>(), ref(30);
  for (int64_t row = 0; row < 6; ++row) {
    double m = 0, v = 0;
    for (int j = 0; j < 5; ++j) m += xv[row * 5 + j] / 5;
    for (int j = 0; j < 5; ++j) v += (xv[row * 5 + j] - m) * (xv[row * 5 + j] - m) / 5;
    for (int j = 0; j < 5; ++j) ref[row * 5 + j] = (xv[row * 5 + j] - m) / std::sqrt(v + 1e-5) * wv[j] + bv[j];
  }
  check_close(r.output, Tensor::from_vector(ref, x.shape()), 1e-12);
  check_close(eng::layer_norm(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32)).output.to(DType::f64), r.output, 1e-5);
}

TEST_CASE("layer_norm2d equals layer_norm over channels-last / forward and backward") {
  Tensor x = randn({2, 4, 3, 5}, 27), w = randn({4}, 28), b = randn({4}, 29), g = randn({2, 4, 3, 5}, 30);
  eng::LayerNormResult r = eng::layer_norm2d(x, w, b, 1e-6);
  Tensor xl = x.permute({0, 2, 3, 1}).contiguous();
  eng::LayerNormResult rl = eng::layer_norm(xl, w, b, 1e-6);
  check_close(r.output, rl.output.permute({0, 3, 1, 2}).contiguous(), 1e-12);
  check_close(r.mean, rl.mean, 1e-14);
  eng::NormGrads g2 = eng::layer_norm2d_backward(g, x, w, r.mean, r.invstd);
  eng::NormGrads gl = eng::layer_norm_backward(g.permute({0, 2, 3, 1}).contiguous(), xl, w, rl.mean, rl.invstd);
  check_close(g2.input, gl.input.permute({0, 3, 1, 2}).contiguous(), 1e-12);
  check_close(g2.weight, gl.weight, 1e-12);
  check_close(g2.bias, gl.bias, 1e-12);
  // Enough pixels for several pixel blocks and threads.
  Tensor big = randn({2, 3, 20, 30}, 31);
  eng::LayerNormResult rb = eng::layer_norm2d(big, Tensor(), Tensor());
  check_close(rb.output, eng::layer_norm(big.permute({0, 2, 3, 1}).contiguous(), Tensor(), Tensor(), 1e-6)
                             .output.permute({0, 3, 1, 2}).contiguous(), 1e-12);
}

}
