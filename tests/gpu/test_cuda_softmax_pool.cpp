// GPU tests (suite "gpu"): softmax / log_softmax, pooling and bilinear resizing on CUDA against the
// CPU backend, forward and backward, on odd sizes, strided inputs and poisoned outputs. "sanitize: "
// cases use small shapes for the compute-sanitizer pass.
#include "engine/ops/elementwise.h"
#include "engine/ops/interpolate.h"
#include "engine/ops/pool.h"
#include "engine/ops/softmax.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

namespace {

struct AxisCase {
  Shape shape;
  int64_t axis;
};

void check_softmax(const std::vector<AxisCase>& cases) {
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    // f32: the GPU's expf/logf and the CPU's differ by up to 2 ulp and the sums (both in double) run in
    // different orders, so outputs of size <= 1 agree to a few 1e-7. f64: a few ulp.
    const double tol = dt == DType::f32 ? 2e-6 : 1e-12;
    for (const AxisCase& c : cases) {
      INFO("shape ", eng::shape_str(c.shape), " axis ", c.axis, " ", eng::dtype_name(dt));
      // Scaled by 30 so the max subtraction matters (exp(30 * 4) overflows f32 without it).
      const Tensor x = eng::binary_scalar(eng::BinaryOp::mul, randn(c.shape, 101, dt), 30.0);
      const Tensor g = randn(c.shape, 102, dt);
      for (bool log : {false, true}) {
        INFO((log ? "log_softmax" : "softmax"));
        const Tensor y = log ? eng::log_softmax(x, c.axis) : eng::softmax(x, c.axis);
        const Tensor yg = log ? eng::log_softmax(strided_on_gpu(x), c.axis) : eng::softmax(on_gpu(x), c.axis);
        CHECK(yg.device() == kGpu);
        CHECK(rel_err(yg, y) <= tol);
        const Tensor dx = log ? eng::log_softmax_backward(g, y, c.axis) : eng::softmax_backward(g, y, c.axis);
        const Tensor dxg = log ? eng::log_softmax_backward(strided_on_gpu(g), yg, c.axis)
                               : eng::softmax_backward(on_gpu(g), strided_on_gpu(y), c.axis);
        // The backward multiplies by the (already compared) forward output: 10x the forward tolerance.
        CHECK(rel_err(dxg, dx) <= tol * 10);
      }
    }
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda softmax and log_softmax match the CPU on every row layout") {
  if (!gpu_present()) return;
  // Rows of one thread (n <= 32), of a warp (n <= 1024), of a block (longer), strided axes.
  check_softmax({{{1}, 0}, {{3, 7}, -1}, {{2, 33}, 1}, {{5, 1}, 1}, {{2, 1500}, -1}, {{2, 100, 3}, 1},
                 {{7, 3, 5}, 0}, {{0, 4}, 1}});
  // Contiguous rows held in registers: 4, 8, 16 and 32 values per lane, full and partial.
  check_softmax({{{3, 121}, 1}, {{4, 128}, -1}, {{3, 129}, 1}, {{2, 256}, 1}, {{2, 300}, 1}, {{2, 512}, 1},
                 {{2, 700}, 1}, {{2, 1024}, 1}});
}

TEST_CASE("cuda softmax matches the CPU on large rows and many strided rows") {
  if (!gpu_present()) return;
  check_softmax({{{3, 4097}, 1}, {{4, 40, 2100}, 1}, {{64, 2, 49, 49}, -1}, {{2, 1025, 3}, 1}});
}

}

namespace {

struct PoolCase {
  Shape x;
  eng::Size2 k, s, p;
  bool ceil, cip;
};

void check_pools(const std::vector<PoolCase>& cases) {
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    for (const PoolCase& c : cases) {
      INFO("x ", eng::shape_str(c.x), " kernel ", c.k[0], "x", c.k[1], " stride ", c.s[0], " pad ", c.p[0], " ceil ",
           c.ceil, " cip ", c.cip, " ", eng::dtype_name(dt));
      const Tensor x = randn(c.x, 201, dt);
      // Average pooling sums the same terms in the same order as the CPU (forward per window, backward
      // per input cell in output order) and divides alike: f32 results agree to rounding noise only.
      const double tol = dt == DType::f32 ? 1e-6 : 1e-13;
      const Tensor a = eng::avg_pool2d(x, c.k, c.s, c.p, c.cip, c.ceil);
      const Tensor ag = eng::avg_pool2d(strided_on_gpu(x), c.k, c.s, c.p, c.cip, c.ceil);
      CHECK(rel_err(ag, a) <= tol);
      const Tensor g = randn(a.shape(), 202, dt);
      CHECK(rel_err(eng::avg_pool2d_backward(strided_on_gpu(g), c.x, c.k, c.s, c.p, c.cip, c.ceil),
                    eng::avg_pool2d_backward(g, c.x, c.k, c.s, c.p, c.cip, c.ceil)) <= tol);
      // Max pooling picks the same element (values and indices exact); its backward adds the same
      // gradients in the same order (a stable sort by target), so it is exact too.
      const eng::MaxPool2dResult m = eng::max_pool2d(x, c.k, c.s, c.p, c.ceil);
      const eng::MaxPool2dResult mg = eng::max_pool2d(strided_on_gpu(x), c.k, c.s, c.p, c.ceil);
      CHECK(same(mg.output, m.output));
      CHECK(same(mg.indices, m.indices));
      CHECK(same(eng::max_pool2d_backward(on_gpu(g), mg.indices, c.x), eng::max_pool2d_backward(g, m.indices, c.x)));
    }
  }
}

void check_adaptive(const std::vector<std::pair<Shape, eng::Size2>>& cases) {
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    // Small bins sum like the CPU; large bins (a warp each) sum in double in a tree: a few f32 ulp.
    const double tol = dt == DType::f32 ? 1e-6 : 1e-13;
    for (const auto& [shape, out] : cases) {
      INFO("x ", eng::shape_str(shape), " -> ", out[0], "x", out[1], " ", eng::dtype_name(dt));
      const Tensor x = randn(shape, 211, dt);
      const Tensor y = eng::adaptive_avg_pool2d(x, out[0], out[1]);
      CHECK(rel_err(eng::adaptive_avg_pool2d(strided_on_gpu(x), out[0], out[1]), y) <= tol);
      const Tensor g = randn(y.shape(), 212, dt);
      CHECK(rel_err(eng::adaptive_avg_pool2d_backward(strided_on_gpu(g), shape),
                    eng::adaptive_avg_pool2d_backward(g, shape)) <= tol);
    }
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda pooling matches the CPU forward and backward") {
  if (!gpu_present()) return;
  check_pools({{{1, 1, 1, 1}, {1, 1}, {1, 1}, {0, 0}, false, true},
               {{2, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1}, false, true},
               {{2, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1}, true, false},
               {{1, 2, 5, 9}, {3, 2}, {1, 1}, {1, 0}, false, false},
               {{1, 2, 8, 6}, {2, 2}, {2, 2}, {0, 0}, true, true},
               {{1, 3, 33, 7}, {5, 5}, {3, 2}, {2, 2}, true, true}});
  check_adaptive({{{1, 1, 1, 1}, {1, 1}}, {{2, 3, 7, 5}, {3, 2}}, {{1, 2, 3, 3}, {5, 7}}, {{2, 2, 33, 20}, {1, 1}},
                  {{1, 2, 9, 9}, {9, 9}}});
}

TEST_CASE("cuda pooling matches the CPU on model shapes") {
  if (!gpu_present()) return;
  // The loss's 31x31 window, the frequency expert's 3x3 / 5x5, global pooling of the MoE router.
  check_pools({{{2, 1, 64, 48}, {31, 31}, {1, 1}, {15, 15}, false, true},
               {{2, 8, 44, 44}, {5, 5}, {1, 1}, {2, 2}, false, true},
               {{2, 8, 45, 45}, {3, 3}, {2, 2}, {1, 1}, true, true}});
  check_adaptive({{{4, 16, 88, 88}, {1, 1}}, {{2, 4, 88, 88}, {11, 11}}, {{2, 3, 100, 70}, {6, 4}}});
}

}

namespace {

void check_resize(const std::vector<std::pair<Shape, eng::Size2>>& cases) {
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    // Taps are bit-identical to the CPU's; the GPU may fuse multiply-adds and the backward gathers in
    // another order than the CPU scatters, so f32 agrees to a few ulp of the largest sum.
    const double tol = dt == DType::f32 ? 2e-6 : 1e-13;
    for (const auto& [shape, out] : cases)
      for (bool ac : {false, true}) {
        INFO("x ", eng::shape_str(shape), " -> ", out[0], "x", out[1], " align_corners ", ac, " ", eng::dtype_name(dt));
        const Tensor x = randn(shape, 301, dt);
        const Tensor y = eng::resize_bilinear(x, out[0], out[1], ac);
        CHECK(rel_err(eng::resize_bilinear(strided_on_gpu(x), out[0], out[1], ac), y) <= tol);
        const Tensor g = randn(y.shape(), 302, dt);
        CHECK(rel_err(eng::resize_bilinear_backward(strided_on_gpu(g), shape, ac),
                      eng::resize_bilinear_backward(g, shape, ac)) <= tol);
      }
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda bilinear resize matches the CPU forward and backward") {
  if (!gpu_present()) return;
  check_resize({{{1, 1, 1, 1}, {3, 3}}, {{1, 1, 3, 3}, {1, 1}}, {{2, 3, 7, 5}, {33, 17}}, {{1, 2, 33, 17}, {7, 5}},
                {{1, 1, 4, 4}, {8, 8}}, {{1, 1, 5, 6}, {5, 6}}, {{1, 2, 1, 7}, {3, 1}}});
  // Exactly x2 (its own kernel without align_corners): one-row and one-column inputs (clamped taps),
  // odd heights, widths whose output is and is not a multiple of the pack.
  check_resize({{{1, 3, 1, 2}, {2, 4}}, {{2, 3, 5, 6}, {10, 12}}, {{1, 2, 3, 1}, {6, 2}}, {{1, 1, 7, 9}, {14, 18}},
                {{1, 2, 3, 8}, {6, 16}}, {{2, 1, 1, 4}, {2, 8}}, {{1, 1, 2, 12}, {4, 24}}});
  // The f32 row-window backward (widths a multiple of 4): rows wider than a warp's 32 column groups
  // (neighbours across a warp's edge come from memory), heights not a multiple of its 4-row window,
  // warps spanning several rows and planes, and a grid whose last warp is partly past the end.
  check_resize({{{1, 3, 7, 160}, {14, 320}}, {{3, 2, 9, 36}, {18, 72}}, {{2, 1, 5, 4}, {10, 8}},
                {{1, 5, 6, 132}, {12, 264}}});
}

TEST_CASE("cuda bilinear resize matches the CPU on model shapes") {
  if (!gpu_present()) return;
  // x2 decoder upsampling, side outputs to the input size, and a large downsampling.
  check_resize({{{2, 16, 44, 44}, {88, 88}}, {{2, 1, 11, 11}, {352, 352}}, {{1, 4, 352, 352}, {11, 13}}});
}

}
