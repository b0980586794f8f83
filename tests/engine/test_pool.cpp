// Tests of average, max and adaptive average pooling against direct loops over each window.
#include <cmath>

#include "engine/ops/pool.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;
using eng::Size2;

namespace {

struct PoolCase {
  Shape x;
  Size2 k, s, p;
  bool count_include_pad, ceil_mode;
};

// Direct pooling: visits every kernel tap, counting real cells and cells inside the padded input.
void reference_pools(const PoolCase& pc, const Shape& ys, std::vector<double>& avg, std::vector<double>& mx,
                     std::vector<int64_t>& arg, const std::vector<double>& xv) {
  const int64_t H = pc.x[2], W = pc.x[3], OH = ys[2], OW = ys[3];
  for (int64_t pl = 0; pl < pc.x[0] * pc.x[1]; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double sum = 0, best = -INFINITY;
        int64_t real = 0, padded = 0, best_i = -1;
        for (int64_t i = 0; i < pc.k[0]; ++i)
          for (int64_t j = 0; j < pc.k[1]; ++j) {
            const int64_t h = oh * pc.s[0] - pc.p[0] + i, w = ow * pc.s[1] - pc.p[1] + j;
            if (h < H + pc.p[0] && w < W + pc.p[1]) ++padded;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            ++real;
            const double v = xv[pl * H * W + h * W + w];
            sum += v;
            if (v > best) best = v, best_i = h * W + w;
          }
        const int64_t o = (pl * OH + oh) * OW + ow;
        avg[o] = sum / double(pc.count_include_pad ? padded : real);
        mx[o] = best;
        arg[o] = best_i;
      }
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("avg_pool2d and max_pool2d match direct loops") {
  const PoolCase cases[] = {
      {{2, 3, 6, 6}, {2, 2}, {2, 2}, {0, 0}, true, false},
      {{1, 2, 7, 6}, {3, 3}, {2, 2}, {1, 1}, true, false},
      {{1, 2, 7, 6}, {3, 3}, {2, 2}, {1, 1}, false, false},
      {{1, 2, 5, 5}, {2, 2}, {2, 2}, {0, 0}, true, true},
      {{2, 1, 7, 8}, {3, 2}, {2, 3}, {1, 1}, true, true},
      {{2, 1, 7, 8}, {3, 2}, {2, 3}, {1, 1}, false, true},
      {{1, 1, 6, 9}, {3, 3}, {1, 2}, {1, 0}, false, false},
      // Windows of 64+ elements take the summed-area-table path (the structure loss's 31x31).
      {{2, 2, 33, 35}, {31, 31}, {1, 1}, {15, 15}, true, false},
      {{1, 2, 20, 17}, {9, 11}, {2, 3}, {4, 5}, false, true},
  };
  for (const PoolCase& pc : cases) {
    Tensor x = randn(pc.x, 7);
    Tensor avg = eng::avg_pool2d(x, pc.k, pc.s, pc.p, pc.count_include_pad, pc.ceil_mode);
    eng::MaxPool2dResult mx = eng::max_pool2d(x, pc.k, pc.s, pc.p, pc.ceil_mode);
    const Shape ys = avg.shape();
    CHECK(mx.output.shape() == ys);
    std::vector<double> ra(eng::shape_numel(ys)), rm(eng::shape_numel(ys));
    std::vector<int64_t> ri(eng::shape_numel(ys));
    reference_pools(pc, ys, ra, rm, ri, x.to_vector<double>());
    check_close(avg, Tensor::from_vector(ra, ys), 1e-14);
    check_close(mx.output, Tensor::from_vector(rm, ys), 0);
    CHECK(mx.indices.to_vector<int64_t>() == ri);
    // float32 agrees.
    check_close(eng::avg_pool2d(x.to(DType::f32), pc.k, pc.s, pc.p, pc.count_include_pad, pc.ceil_mode).to(DType::f64),
                avg, 1e-6);
  }
}

TEST_CASE("pooling output sizes / ceil mode and hand-computed values") {
  // floor((5 - 2) / 2) + 1 = 2; ceil mode adds the window that starts at column 4.
  CHECK(eng::pool2d_output_shape({1, 1, 5, 5}, {2, 2}, {2, 2}, {0, 0}, false, "t") == Shape{1, 1, 2, 2});
  CHECK(eng::pool2d_output_shape({1, 1, 5, 5}, {2, 2}, {2, 2}, {0, 0}, true, "t") == Shape{1, 1, 3, 3});
  // ceil mode never starts a window in the right padding: 6 + 2 - 3 = 5 -> ceil(5/2)+1 = 4 -> kept (start 5 < 7).
  CHECK(eng::pool2d_output_shape({1, 1, 6, 6}, {3, 3}, {2, 2}, {1, 1}, true, "t") == Shape{1, 1, 4, 4});
  CHECK(eng::pool2d_output_shape({1, 1, 5, 5}, {2, 2}, {3, 3}, {1, 1}, true, "t") == Shape{1, 1, 2, 2});
  Tensor x = Tensor::from_vector<double>(std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                                             16, 17, 18, 19, 20, 21, 22, 23, 24},
                                         {1, 1, 5, 5});
  // Row 0 windows: (0+1+5+6)/4, (2+3+7+8)/4, (4+9)/2 (the last window overhangs: divisor 2 either way).
  std::vector<double> a = eng::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, true).to_vector<double>();
  CHECK(a[0] == 3.0);
  CHECK(a[1] == 5.0);
  CHECK(a[2] == 6.5);
  CHECK(a[8] == 24.0);
  // 3x3 stride 1 pad 1 at the corner: 4 real cells, 9 with the padding.
  std::vector<double> inc = eng::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, true).to_vector<double>();
  std::vector<double> exc = eng::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false).to_vector<double>();
  CHECK(inc[0] == doctest::Approx((0 + 1 + 5 + 6) / 9.0));
  CHECK(exc[0] == doctest::Approx((0 + 1 + 5 + 6) / 4.0));
  CHECK_THROWS_AS(eng::avg_pool2d(x, {2, 2}, {2, 2}, {2, 2}), cuttle::Error);  // padding > kernel / 2
  CHECK_THROWS_AS(eng::max_pool2d(x, {7, 7}, {1, 1}, {0, 0}), cuttle::Error);
}

TEST_CASE("max_pool2d ignores padding and routes gradients to the argmax") {
  Tensor x = rand_uniform({1, 1, 4, 4}, -2, -1, 8);  // all negative
  eng::MaxPool2dResult r = eng::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  for (double v : r.output.to_vector<double>()) CHECK(v < 0);  // a padded zero never wins
  Tensor gx = eng::max_pool2d_backward(Tensor::ones(r.output.shape(), DType::f64), r.indices, x.shape());
  std::vector<double> g = gx.to_vector<double>();
  double total = 0;
  for (double v : g) total += v;
  CHECK(total == 4.0);
  for (int64_t i : r.indices.to_vector<int64_t>()) CHECK(g[i] >= 1.0);
}

TEST_CASE("adaptive_avg_pool2d uses PyTorch's bins") {
  for (Shape out : {Shape{3, 2}, Shape{5, 5}, Shape{1, 1}, Shape{4, 7}, Shape{2, 3}}) {
    const Shape xs{2, 2, 5, 5};
    Tensor x = randn(xs, 9);
    Tensor y = eng::adaptive_avg_pool2d(x, out[0], out[1]);
    std::vector<double> xv = x.to_vector<double>(), ref;
    for (int64_t pl = 0; pl < 4; ++pl)
      for (int64_t i = 0; i < out[0]; ++i)
        for (int64_t j = 0; j < out[1]; ++j) {
          const int64_t h0 = (int64_t)std::floor(i * 5.0 / out[0]), h1 = (int64_t)std::ceil((i + 1) * 5.0 / out[0]);
          const int64_t w0 = (int64_t)std::floor(j * 5.0 / out[1]), w1 = (int64_t)std::ceil((j + 1) * 5.0 / out[1]);
          double s = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) s += xv[pl * 25 + h * 5 + w];
          ref.push_back(s / double((h1 - h0) * (w1 - w0)));
        }
    check_close(y, Tensor::from_vector(ref, {2, 2, out[0], out[1]}), 1e-14);
  }
  // Same size is the identity; a divisible size is plain average pooling.
  Tensor x = randn({1, 3, 6, 4}, 10);
  check_close(eng::adaptive_avg_pool2d(x, 6, 4), x, 0);
  check_close(eng::adaptive_avg_pool2d(x, 3, 2), eng::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}), 1e-15);
}

}
