// Tests of softmax, log_softmax and their backward kernels against direct computations.
#include <cmath>

#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "engine/parallel.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

namespace {

// Softmax of a [outer, n, inner] tensor along the middle axis, by the definition.
std::vector<double> ref_softmax(const std::vector<double>& x, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += std::exp(x[(o * n + k) * inner + j]);
      for (int64_t k = 0; k < n; ++k) y[(o * n + k) * inner + j] = std::exp(x[(o * n + k) * inner + j]) / s;
    }
  return y;
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("softmax matches the definition on every axis") {
  Tensor x = randn({3, 5, 70}, 1);  // inner 70 spans more than one block of lanes
  const int64_t outer[] = {1, 3, 15}, n[] = {3, 5, 70}, inner[] = {350, 70, 1};
  for (int a = 0; a < 3; ++a) {
    CAPTURE(a);
    std::vector<double> want = ref_softmax(x.to_vector<double>(), outer[a], n[a], inner[a]);
    std::vector<double> got = eng::softmax(x, a).to_vector<double>();
    std::vector<double> lgot = eng::log_softmax(x, a).to_vector<double>();
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
      CHECK(lgot[i] == doctest::Approx(std::log(want[i])).epsilon(1e-12));
    }
  }
}

TEST_CASE("softmax rows sum to one and large inputs stay finite") {
  Tensor x = Tensor::from_vector<float>({1000, 1001, 1002, -1000, -1001, -1e30f, 0, 0, 0}, {3, 3});
  std::vector<float> y = eng::softmax(x, -1).to_vector<float>();
  std::vector<float> ly = eng::log_softmax(x, -1).to_vector<float>();
  for (int r = 0; r < 3; ++r) {
    float s = 0;
    for (int c = 0; c < 3; ++c) {
      CHECK(std::isfinite(y[r * 3 + c]));
      CHECK(std::isfinite(ly[r * 3 + c]));
      s += y[r * 3 + c];
    }
    CHECK(s == doctest::Approx(1.0f).epsilon(1e-6));
  }
  CHECK(y[2] == doctest::Approx(1.0 / (1 + std::exp(-1.0) + std::exp(-2.0))).epsilon(1e-6));
  // f32 near 1000 carries about 6e-5 of absolute rounding.
  CHECK(ly[0] == doctest::Approx(-2 - std::log(1 + std::exp(-1.0) + std::exp(-2.0))).epsilon(1e-4));
  CHECK(y[6] == doctest::Approx(1.0f / 3));
  Tensor r = eng::sum(eng::softmax(randn({4, 9, 6}, 2, DType::f32), 1), {1});
  for (float v : r.to_vector<float>()) CHECK(v == doctest::Approx(1.0f).epsilon(1e-6));
}

TEST_CASE("softmax backward kernels match their formulas") {
  Tensor x = randn({2, 4, 3}, 3), g = randn({2, 4, 3}, 4);
  Tensor y = eng::softmax(x, 1), ly = eng::log_softmax(x, 1);
  std::vector<double> vy = y.to_vector<double>(), vg = g.to_vector<double>();
  std::vector<double> d = eng::softmax_backward(g, y, 1).to_vector<double>();
  std::vector<double> ld = eng::log_softmax_backward(g, ly, 1).to_vector<double>();
  for (int o = 0; o < 2; ++o)
    for (int j = 0; j < 3; ++j) {
      double dot = 0, gs = 0;
      for (int k = 0; k < 4; ++k) {
        dot += vg[(o * 4 + k) * 3 + j] * vy[(o * 4 + k) * 3 + j];
        gs += vg[(o * 4 + k) * 3 + j];
      }
      for (int k = 0; k < 4; ++k) {
        const int i = (o * 4 + k) * 3 + j;
        CHECK(d[i] == doctest::Approx(vy[i] * (vg[i] - dot)).epsilon(1e-12));
        CHECK(ld[i] == doctest::Approx(vg[i] - vy[i] * gs).epsilon(1e-12));
      }
    }
  CHECK_THROWS_AS(eng::softmax_backward(g, randn({2, 4}, 5), 1), cuttle::Error);
  CHECK_THROWS_AS(eng::softmax(Tensor::zeros({3}, DType::i64), 0), cuttle::Error);
  CHECK_THROWS_AS(eng::softmax(x, 3), cuttle::Error);
}

TEST_CASE("softmax gives identical results with 1 and 2 threads") {
  const int saved = eng::num_threads();
  Tensor x = randn({16, 300, 40}, 6, DType::f32), g = randn({16, 300, 40}, 7, DType::f32);
  eng::set_num_threads(1);
  Tensor a1 = eng::softmax(x, 1), b1 = eng::log_softmax(x, -1), c1 = eng::softmax_backward(g, a1, 1);
  eng::set_num_threads(2);
  Tensor a2 = eng::softmax(x, 1), b2 = eng::log_softmax(x, -1), c2 = eng::softmax_backward(g, a1, 1);
  eng::set_num_threads(saved);
  CHECK(a1.to_vector<float>() == a2.to_vector<float>());
  CHECK(b1.to_vector<float>() == b2.to_vector<float>());
  CHECK(c1.to_vector<float>() == c2.to_vector<float>());
}

}  // TEST_SUITE
