// Tests of dropout: mask statistics, scaling, determinism for a seed, and the identity cases.
#include "engine/ops/dropout.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

TEST_SUITE("engine") {

TEST_CASE("dropout drops about p of the elements and rescales the rest") {
  Tensor x = Tensor::ones({20000}, DType::f32);
  eng::Generator gen(42);
  eng::DropoutResult r = eng::dropout(x, 0.3, true, &gen);
  std::vector<float> y = r.output.to_vector<float>(), m = r.mask.to_vector<float>();
  int64_t zeros = 0, bad = 0;
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    bad += !(y[i] == 0.0f || y[i] == doctest::Approx(1 / 0.7)) || y[i] != m[i];
    zeros += y[i] == 0.0f;
    sum += y[i];
  }
  CHECK(bad == 0);
  CHECK(double(zeros) / y.size() == doctest::Approx(0.3).epsilon(0.05));  // 4 sigma is ~0.013
  CHECK(sum / y.size() == doctest::Approx(1.0).epsilon(0.03));
}

TEST_CASE("dropout is deterministic for a seed and differs across seeds") {
  Tensor x = randn({1000}, 1, DType::f32);
  eng::Generator a(7), b(7), c(8);
  std::vector<float> ya = eng::dropout(x, 0.5, true, &a).output.to_vector<float>();
  CHECK(ya == eng::dropout(x, 0.5, true, &b).output.to_vector<float>());
  CHECK(ya != eng::dropout(x, 0.5, true, &c).output.to_vector<float>());
  CHECK(ya != eng::dropout(x, 0.5, true, &a).output.to_vector<float>());  // the generator advanced
}

TEST_CASE("dropout identity and extreme cases and its backward") {
  Tensor x = randn({4, 5}, 2);
  eng::Generator gen(3);
  eng::DropoutResult eval = eng::dropout(x, 0.5, false, &gen);
  CHECK(eval.output.shares_storage(x));
  CHECK(!eval.mask.defined());
  CHECK(eng::dropout(x, 0.0, true, &gen).output.shares_storage(x));
  CHECK(gen.offset() == 0);  // no draws for the identity
  eng::DropoutResult all = eng::dropout(x, 1.0, true, &gen);
  for (double v : all.output.to_vector<double>()) CHECK(v == 0.0);
  eng::DropoutResult r = eng::dropout(x, 0.25, true, &gen);
  Tensor g = randn({4, 5}, 4);
  std::vector<double> gx = eng::dropout_backward(g, r.mask).to_vector<double>(), gv = g.to_vector<double>(),
                      m = r.mask.to_vector<double>();
  for (size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == gv[i] * m[i]);
  CHECK_THROWS_AS(eng::dropout(x, 1.5, true, &gen), cuttle::Error);
}

}
