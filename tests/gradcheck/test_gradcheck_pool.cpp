// Float64 gradient checks of pooling and bilinear resizing, one test case per configuration.
#include "autograd/functions/interpolate.h"
#include "autograd/functions/pool.h"
#include "engine/ops/elementwise.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;

namespace {
// Distinct values 0.1 apart in random order: no ties for max pooling to break.
Tensor distinct(const Shape& s, uint64_t seed) {
  eng::Generator g(seed);
  Tensor perm = eng::randperm(eng::shape_numel(s), &g).to(DType::f64).reshape(s);
  return eng::binary_scalar(eng::BinaryOp::mul, perm, 0.1);
}
}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck avg_pool2d 2x2 stride 2") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {2, 2}, {2, 2}); }, {randn({2, 2, 4, 6}, 300)});
}
TEST_CASE("gradcheck avg_pool2d 3x3 stride 2 pad 1 / count_include_pad") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {3, 3}, {2, 2}, {1, 1}, true); }, {randn({1, 2, 7, 6}, 310)});
}
TEST_CASE("gradcheck avg_pool2d 3x3 stride 2 pad 1 / padding excluded") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {3, 3}, {2, 2}, {1, 1}, false); }, {randn({1, 2, 7, 6}, 320)});
}
TEST_CASE("gradcheck avg_pool2d 9x9 summed-area path / padding excluded") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {9, 9}, {2, 1}, {4, 4}, false); }, {randn({1, 2, 11, 10}, 327)});
}
TEST_CASE("gradcheck avg_pool2d 31x31 stride 1 summed-area path") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {31, 31}, {1, 1}, {15, 15}, true); }, {randn({1, 1, 17, 16}, 328)});
}
TEST_CASE("gradcheck avg_pool2d ceil_mode") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {3, 2}, {2, 2}, {1, 0}, true, true); },
                  {randn({1, 2, 6, 5}, 330)});
}
TEST_CASE("gradcheck avg_pool2d ceil_mode / padding excluded") {
  check_gradcheck([](const V& v) { return avg_pool2d(v[0], {3, 3}, {2, 2}, {1, 1}, false, true); },
                  {randn({1, 1, 6, 6}, 335)});
}
TEST_CASE("gradcheck max_pool2d 2x2 stride 2") {
  check_gradcheck([](const V& v) { return max_pool2d(v[0], {2, 2}, {2, 2}); }, {distinct({2, 2, 4, 4}, 340)});
}
TEST_CASE("gradcheck max_pool2d 3x3 stride 2 pad 1 (overlapping windows)") {
  check_gradcheck([](const V& v) { return max_pool2d(v[0], {3, 3}, {2, 2}, {1, 1}); }, {distinct({1, 2, 7, 6}, 350)});
}
TEST_CASE("gradcheck max_pool2d ceil_mode") {
  check_gradcheck([](const V& v) { return max_pool2d(v[0], {2, 2}, {2, 2}, {0, 0}, true); }, {distinct({1, 2, 5, 5}, 360)});
}
TEST_CASE("gradcheck adaptive_avg_pool2d non-divisible 5x7 -> 3x4") {
  check_gradcheck([](const V& v) { return adaptive_avg_pool2d(v[0], 3, 4); }, {randn({2, 2, 5, 7}, 370)});
}
TEST_CASE("gradcheck adaptive_avg_pool2d enlarging 3x3 -> 5x4") {
  check_gradcheck([](const V& v) { return adaptive_avg_pool2d(v[0], 5, 4); }, {randn({1, 2, 3, 3}, 380)});
}
TEST_CASE("gradcheck adaptive_avg_pool2d global 1x1") {
  check_gradcheck([](const V& v) { return adaptive_avg_pool2d(v[0], 1, 1); }, {randn({2, 3, 3, 4}, 385)});
}

TEST_CASE("gradcheck resize_bilinear up x2") {
  check_gradcheck([](const V& v) { return resize_bilinear(v[0], 6, 8); }, {randn({1, 2, 3, 4}, 390)});
}
TEST_CASE("gradcheck resize_bilinear down") {
  check_gradcheck([](const V& v) { return resize_bilinear(v[0], 3, 3); }, {randn({1, 2, 6, 7}, 400)});
}
TEST_CASE("gradcheck resize_bilinear non-integer ratio") {
  check_gradcheck([](const V& v) { return resize_bilinear(v[0], 7, 3); }, {randn({2, 1, 4, 5}, 410)});
}
TEST_CASE("gradcheck resize_bilinear same size") {
  check_gradcheck([](const V& v) { return resize_bilinear(v[0], 4, 4); }, {randn({1, 2, 4, 4}, 420)});
}
TEST_CASE("gradcheck resize_bilinear align_corners") {
  check_gradcheck([](const V& v) { return resize_bilinear(v[0], 5, 7, true); }, {randn({1, 2, 3, 4}, 430)});
}

}
