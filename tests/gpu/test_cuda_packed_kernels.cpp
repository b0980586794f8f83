// GPU tests (suite "gpu"): the element-wise kernels' packed path (16-byte loads and stores when every
// operand is aligned) and its element-wise fallback (views that start off a pack boundary), with the
// tails of sizes that are not multiples of a pack, against the CPU backend with poisoned outputs.
#include "engine/ops/elementwise.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

namespace {

// A contiguous GPU tensor holding t's values that starts `offset` elements into its storage (offset 1:
// misaligned for every pack size).
Tensor gpu_at_offset(const Tensor& t, int64_t offset) {
  Tensor flat = Tensor::zeros({t.numel() + offset}, t.dtype(), kGpu);
  Tensor view = flat.slice(0, offset, offset + t.numel()).reshape(t.shape());
  view.copy_(t);
  return view;
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda element-wise kernels agree with the CPU on aligned and offset operands of odd sizes") {
  if (!gpu_present()) return;
  Poison poison;
  using U = eng::UnaryOp;
  using B = eng::BinaryOp;
  for (DType dt : {DType::f32, DType::f64}) {
    // Same formulas on both sides (scalar_ops.h); f32 transcendental functions differ by a few ulp.
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    for (int64_t n : {1, 3, 4, 7, 33, 1027}) {
      for (int64_t offset : {0, 1}) {
        INFO(eng::dtype_name(dt), " n ", n, " offset ", offset);
        const Tensor x = rand_uniform({n}, -3, 3, 40 + n, dt), g = randn({n}, 50 + n, dt);
        const Tensor b = rand_uniform({n}, 0.5, 2, 60 + n, dt);
        const Tensor xg = gpu_at_offset(x, offset), gg = gpu_at_offset(g, offset), bg = gpu_at_offset(b, offset);
        // One op of each derivative form: reads x (gelu, relu), y (sigmoid), both (elu), neither (neg).
        for (U op : {U::gelu, U::relu, U::sigmoid, U::elu, U::neg}) {
          INFO(eng::unary_op_name(op));
          const Tensor y = eng::unary(op, x, 0.7), yg = eng::unary(op, xg, 0.7);
          CHECK(rel_err(yg, y) <= tol);
          CHECK(rel_err(eng::unary_backward(op, gg, xg, gpu_at_offset(y, offset), 0.7),
                        eng::unary_backward(op, g, x, y, 0.7)) <= tol);
        }
        for (B op : {B::add, B::mul, B::div, B::maximum}) {
          INFO("binary ", (int)op);
          CHECK(rel_err(eng::binary(op, xg, bg), eng::binary(op, x, b)) <= 1e-6);
          // A one-element operand on either side (the scalar fast path), 0-d and [1].
          const Tensor s0 = Tensor::full({}, 1.5, dt), s1 = Tensor::full({1}, -0.25, dt);
          CHECK(rel_err(eng::binary(op, xg, s0.to(kGpu)), eng::binary(op, x, s0)) <= 1e-6);
          CHECK(rel_err(eng::binary(op, s1.to(kGpu), bg), eng::binary(op, s1, b)) <= 1e-6);
        }
        CHECK(eng::compare(eng::CompareOp::ge, xg, bg).to(kCpu).to_vector<int64_t>() ==
              eng::compare(eng::CompareOp::ge, x, b).to_vector<int64_t>());
      }
    }
  }
}

TEST_CASE("sanitize: cuda per-channel broadcasts agree with the CPU on either side and every pack width") {
  if (!gpu_present()) return;
  Poison poison;
  using B = eng::BinaryOp;
  // Runs of one axis ([1,C,1,1], [C,1,1]), of two ([N,C,1,1]), a trailing run (inner 1), inner extents
  // that are and are not multiples of a pack, and two separate runs ([1,C,1,W]: the strided kernel).
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 5, 4}, {1, 3, 1, 1}}, {{2, 3, 5, 4}, {3, 1, 1}},
                                                      {{2, 3, 5, 4}, {2, 3, 1, 1}}, {{2, 3, 5, 3}, {1, 3, 1, 1}},
                                                      {{4, 7}, {1, 7}},             {{2, 3, 5, 4}, {1, 3, 1, 4}}};
  for (DType dt : {DType::f32, DType::f64})
    for (const auto& [big, small] : cases)
      for (B op : {B::add, B::mul, B::div, B::maximum}) {
        INFO(eng::dtype_name(dt), " ", eng::shape_str(big), " with ", eng::shape_str(small), " op ", (int)op);
        const Tensor a = rand_uniform(big, 0.5, 2, 70, dt), c = rand_uniform(small, 0.5, 2, 71, dt);
        CHECK(rel_err(eng::binary(op, a.to(kGpu), c.to(kGpu)), eng::binary(op, a, c)) <= 1e-6);
        CHECK(rel_err(eng::binary(op, c.to(kGpu), a.to(kGpu)), eng::binary(op, c, a)) <= 1e-6);
      }
}

}

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda transposing copies and unary ops over transposed views match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  // Batched and single transposes with partial 32x32 tiles, a 4-D permute that merges to one, and
  // integer and f64 data (the tiled kernel is type-generic).
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    INFO(eng::dtype_name(dt));
    const Tensor a = randn({3, 70, 45}, 80, DType::f64).to(dt), m = randn({33, 65}, 81, DType::f64).to(dt);
    const Tensor p4 = randn({2, 5, 7, 9}, 82, DType::f64).to(dt);
    CHECK(same(a.to(kGpu).transpose(1, 2).contiguous(), a.transpose(1, 2).contiguous()));
    CHECK(same(m.to(kGpu).transpose(0, 1).contiguous(), m.transpose(0, 1).contiguous()));
    CHECK(same(p4.to(kGpu).permute({0, 2, 3, 1}).contiguous(), p4.permute({0, 2, 3, 1}).contiguous()));
    CHECK(same(p4.to(kGpu).permute({0, 3, 1, 2}).contiguous(), p4.permute({0, 3, 1, 2}).contiguous()));
  }
  // Unary ops over a transposed view take the same tiles with the op applied on the way out (f32: CUDA's
  // erff/expf within 2 ulp, the CPU's within a few; 1e-5 relative covers both).
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    const Tensor a = randn({3, 70, 45}, 83, dt), m = randn({33, 65}, 84, dt);
    for (eng::UnaryOp op : {eng::UnaryOp::gelu, eng::UnaryOp::exp, eng::UnaryOp::relu}) {
      INFO(eng::dtype_name(dt), " ", eng::unary_op_name(op));
      CHECK(rel_err(eng::unary(op, a.to(kGpu).transpose(1, 2), 0.0), eng::unary(op, a.transpose(1, 2), 0.0)) <= tol);
      CHECK(rel_err(eng::unary(op, m.to(kGpu).transpose(0, 1), 0.0), eng::unary(op, m.transpose(0, 1), 0.0)) <= tol);
    }
  }
}

}
