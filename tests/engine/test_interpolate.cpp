// Tests of bilinear resizing against hand-computed values.
#include "engine/ops/interpolate.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

TEST_SUITE("engine") {

TEST_CASE("resize_bilinear 2x2 -> 4x4 (align_corners false)") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2});
  // Source coordinates of outputs 0..3: max(0, -0.25) = 0, 0.25, 0.75, 1.25 -> clamped tap 1.
  // Along one axis [a, b] -> [a, 0.75a + 0.25b, 0.25a + 0.75b, b].
  const std::vector<double> want = {1,   1.25, 1.75, 2,   1.5, 1.75, 2.25, 2.5,
                                    2.5, 2.75, 3.25, 3.5, 3,   3.25, 3.75, 4};
  check_close(eng::resize_bilinear(x, 4, 4), Tensor::from_vector(want, {1, 1, 4, 4}), 1e-15);
  check_close(eng::resize_bilinear(x.to(DType::f32), 4, 4).to(DType::f64), Tensor::from_vector(want, {1, 1, 4, 4}), 1e-7);
}

TEST_CASE("resize_bilinear down-sampling and non-integer ratios") {
  // 4 -> 2: src = (d + 0.5) * 2 - 0.5 = 0.5, 2.5: averages of pairs.
  Tensor x = Tensor::from_vector<double>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {1, 1, 4, 4});
  check_close(eng::resize_bilinear(x, 2, 2), Tensor::from_vector<double>({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2}), 1e-15);
  // 4 -> 3 along width only: scale 4/3, src = 1/6, 3/2, 17/6.
  Tensor row = Tensor::from_vector<double>({0, 10, 20, 30}, {1, 1, 1, 4});
  check_close(eng::resize_bilinear(row, 1, 3), Tensor::from_vector<double>({10.0 / 6, 15, 170.0 / 6}, {1, 1, 1, 3}), 1e-14);
  // 2 -> 3: scale 2/3, src = max(0, -1/6) = 0, 0.5, 7/6 -> clamped at the last tap.
  Tensor two = Tensor::from_vector<double>({4, 8}, {1, 1, 2, 1});
  check_close(eng::resize_bilinear(two, 3, 1), Tensor::from_vector<double>({4, 6, 8}, {1, 1, 3, 1}), 1e-15);
}

TEST_CASE("resize_bilinear identity / align_corners and backward as the adjoint") {
  Tensor x = randn({2, 3, 5, 4}, 11);
  check_close(eng::resize_bilinear(x, 5, 4), x, 0);
  // align_corners: 2 -> 3 samples 0, 0.5, 1.
  Tensor two = Tensor::from_vector<double>({4, 8}, {1, 1, 1, 2});
  check_close(eng::resize_bilinear(two, 1, 3, true), Tensor::from_vector<double>({4, 6, 8}, {1, 1, 1, 3}), 1e-15);
  // <resize(x), g> == <x, resize_backward(g)> for any g.
  for (bool ac : {false, true}) {
    Tensor g = randn({2, 3, 7, 9}, 12);
    std::vector<double> y = eng::resize_bilinear(x, 7, 9, ac).to_vector<double>(), gv = g.to_vector<double>();
    std::vector<double> gx = eng::resize_bilinear_backward(g, x.shape(), ac).to_vector<double>(),
                        xv = x.to_vector<double>();
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < y.size(); ++i) lhs += y[i] * gv[i];
    for (size_t i = 0; i < xv.size(); ++i) rhs += xv[i] * gx[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  }
}

}
