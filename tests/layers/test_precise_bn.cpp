// Tests of recalibrate_batch_norm: the running statistics become the plain average of the per-call
// batch statistics (unbiased variance), a BatchNorm2d that no call reached keeps its own, and momentum
// and num_batches_tracked end as they began.
#include <vector>

#include "autograd/grad_mode.h"
#include "layers/container.h"
#include "layers/norm.h"
#include "layers/precise_bn.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

namespace {

// Per-channel mean and unbiased variance of an NCHW f64 tensor.
void channel_stats(const Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3), count = n * hw;
  const double* p = x.data<double>();
  mean.assign(c, 0);
  var.assign(c, 0);
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) mean[ch] += p[(i * c + ch) * hw + j] / count;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        const double d = p[(i * c + ch) * hw + j] - mean[ch];
        var[ch] += d * d / (count - 1);
      }
  }
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("precise BN averages the batch statistics of the calls that reached each BatchNorm2d") {
  auto reached = std::make_shared<layers::BatchNorm2d>(3);
  auto skipped = std::make_shared<layers::BatchNorm2d>(3);
  layers::Sequential model;
  model.push_back(reached);
  model.push_back(skipped);
  model.to(DType::f64);
  skipped->running_mean().copy_(randn({3}, 5));
  const std::vector<double> skipped_mean = skipped->running_mean().to_vector<double>();
  // Some history: the counter and the running statistics have moved before the recalibration.
  model.train();
  (*reached)(Var(randn({2, 3, 4, 4}, 6)));
  const int64_t tracked_before = reached->num_batches_tracked().to_vector<int64_t>()[0];

  std::vector<Tensor> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(rand_uniform({2, 3, 3, 5}, -1.0 + i, 2.0 + 3 * i, 10 + i));
  autograd::NoGradGuard no_grad;
  layers::recalibrate_batch_norm(model, 3, [&](int64_t i) { (*reached)(Var(batches[i])); });

  std::vector<double> want_mean(3, 0), want_var(3, 0), m, v;
  for (const Tensor& b : batches) {
    channel_stats(b, m, v);
    for (int c = 0; c < 3; ++c) {
      want_mean[c] += m[c] / 3;
      want_var[c] += v[c] / 3;
    }
  }
  const std::vector<double> got_mean = reached->running_mean().to_vector<double>();
  const std::vector<double> got_var = reached->running_var().to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    CHECK(got_mean[c] == doctest::Approx(want_mean[c]).epsilon(1e-12));
    CHECK(got_var[c] == doctest::Approx(want_var[c]).epsilon(1e-12));
  }
  CHECK(skipped->running_mean().to_vector<double>() == skipped_mean);
  CHECK(reached->options().momentum == 0.1);
  CHECK(reached->num_batches_tracked().to_vector<int64_t>()[0] == tracked_before);
}

TEST_CASE("precise BN rejects a BatchNorm2d that runs twice per batch and restores the momentum") {
  auto bn = std::make_shared<layers::BatchNorm2d>(2);
  layers::Sequential model;
  model.push_back(bn);
  model.train();
  autograd::NoGradGuard no_grad;
  const Tensor x = randn({2, 2, 3, 3}, 20, DType::f32);
  CHECK_THROWS_WITH_AS(layers::recalibrate_batch_norm(model, 2, [&](int64_t) { (*bn)(Var(x)); (*bn)(Var(x)); }),
                       doctest::Contains("ran 2 times"), cuttle::Error);
  CHECK(bn->options().momentum == 0.1);
  CHECK_THROWS_AS(layers::recalibrate_batch_norm(model, 0, [](int64_t) {}), cuttle::Error);
}

}
