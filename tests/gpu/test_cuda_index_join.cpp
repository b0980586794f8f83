// GPU tests (suite "gpu"): topk, argmax, var, the indexing ops, the joins and pads, and the remaining
// element-wise ops (clamp, where, add_, mul_scalar_, add_scalar_) on CUDA against the CPU backend, with poisoned
// outputs, odd sizes and strided inputs. "sanitize: " cases use small shapes.
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/join.h"
#include "engine/ops/moe_combine.h"
#include "engine/ops/reduce.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

namespace {

// Values from a few levels, so ties are common; a NaN planted where `nan` asks.
Tensor tied_values(const Shape& s, uint64_t seed, DType dt, bool nan) {
  Tensor x = rand_uniform(s, 0, 4, seed, DType::f64);
  std::vector<double> v = x.to_vector<double>();
  for (double& e : v) e = std::floor(e);
  if (nan && v.size() > 2) v[v.size() / 2] = std::nan("");
  return Tensor::from_vector<double>(v, s).to(dt);
}

Tensor index_vector(const std::vector<int64_t>& v, DType dt) {
  return Tensor::from_vector<int64_t>(v, {(int64_t)v.size()}).to(dt);
}

Tensor random_indices(const Shape& s, int64_t bound, uint64_t seed) {
  eng::Generator g(seed);
  return eng::randint(s, 0, bound, DType::i64, &g);
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda topk matches the CPU including ties and NaN") {
  if (!gpu_present()) return;
  Poison poison;
  // Selection and order are unique under the CPU's strict order, so values and indices match exactly.
  for (DType dt : {DType::f32, DType::f64, DType::i64, DType::i32}) {
    for (const Shape& s : std::vector<Shape>{{1}, {7}, {3, 33}, {4, 14}, {2, 5, 3}}) {
      const bool floating = dt == DType::f32 || dt == DType::f64;
      const Tensor x = tied_values(s, 401, dt, floating);
      for (int64_t axis = 0; axis < (int64_t)s.size(); ++axis)
        for (int64_t k : {int64_t(0), int64_t(1), std::min<int64_t>(2, s[axis]), s[axis]})
          for (bool largest : {true, false})
            for (bool sorted : {true, false}) {
              INFO(eng::shape_str(s), " ", eng::dtype_name(dt), " axis ", axis, " k ", k, " largest ", largest,
                   " sorted ", sorted);
              const eng::TopK r = eng::topk(x, k, axis, largest, sorted);
              const eng::TopK rg = eng::topk(strided_on_gpu(x), k, axis, largest, sorted);
              CHECK(same(rg.values, r.values));
              CHECK(same(rg.indices, r.indices));
            }
    }
  }
}

TEST_CASE("sanitize: cuda argmax and var match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    for (const Shape& s : std::vector<Shape>{{1}, {7}, {3, 33}, {2, 100, 3}, {2, 3, 70}}) {
      const bool floating = dt != DType::i64;
      const Tensor x = tied_values(s, 411, dt, floating);
      for (int64_t axis = 0; axis < (int64_t)s.size(); ++axis)
        for (bool keepdim : {false, true}) {
          INFO(eng::shape_str(s), " ", eng::dtype_name(dt), " axis ", axis);
          // First maximum, NaN winning: a unique answer, so exact.
          CHECK(same(eng::argmax(strided_on_gpu(x), axis, keepdim), eng::argmax(x, axis, keepdim)));
        }
    }
  }
  for (DType dt : {DType::f32, DType::f64}) {
    // Both sides reduce in double, in different orders: f32 results agree to f32 rounding.
    const double tol = dt == DType::f32 ? 1e-6 : 1e-12;
    const Tensor x = randn({3, 33, 7, 5}, 412, dt);
    for (const eng::Axes& axes : std::vector<eng::Axes>{{}, {1}, {0, 2}, {-1}, {1, 2, 3}})
      for (int64_t corr : {0, 1}) {
        INFO("axes ", axes.size(), " correction ", corr, " ", eng::dtype_name(dt));
        CHECK(rel_err(eng::var(strided_on_gpu(x), axes, corr, true), eng::var(x, axes, corr, true)) <= tol);
      }
    // A single element with correction 1 divides by zero alike (inf or NaN on both sides).
    const Tensor one = randn({4, 1}, 413, dt);
    CHECK(same(eng::var(on_gpu(one), {1}, 1), eng::var(one, {1}, 1)));
  }
}

TEST_CASE("sanitize: cuda index_select gather scatter_add and index_add match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType idt : {DType::i64, DType::i32}) {
    for (DType dt : {DType::f32, DType::f64, DType::i64}) {
      INFO(eng::dtype_name(dt), " indices ", eng::dtype_name(idt));
      const Tensor x = randn({3, 7, 5}, 421, DType::f64).to(dt);
      // Repeated and unordered indices.
      const Tensor idx = index_vector({4, 0, 4, 6, 1, 4}, idt);
      for (int64_t axis : {0, 1, 2}) {
        INFO("axis ", axis);
        const Tensor id = eng::binary_scalar(eng::BinaryOp::minimum, idx, (double)(x.size(axis) - 1));
        const Tensor sel = eng::index_select(x, axis, id);
        CHECK(same(eng::index_select(strided_on_gpu(x), axis, on_gpu(id)), sel));
        // index_add adds repeated rows in index order on both sides: the same additions, so exact.
        const Tensor src = randn(sel.shape(), 422, DType::f64).to(dt);
        CHECK(same(eng::index_add(strided_on_gpu(x), axis, on_gpu(id), strided_on_gpu(src)),
                   eng::index_add(x, axis, id, src)));
        // gather / scatter_add with an index smaller than the source on the other axes.
        Shape is = x.shape();
        is[axis] = 9;
        for (size_t d = 0; d < is.size(); ++d)
          if ((int64_t)d != axis) is[d] = std::max<int64_t>(1, is[d] - 1);
        const Tensor gi = random_indices(is, x.size(axis), 423 + axis).to(idt);
        CHECK(same(eng::gather(strided_on_gpu(x), axis, strided_on_gpu(gi)), eng::gather(x, axis, gi)));
        const Tensor ssrc = randn({10, 10, 10}, 424, DType::f64).to(dt);
        // Same additions in the same order (a stable sort by target): exact.
        CHECK(same(eng::scatter_add(strided_on_gpu(x), axis, strided_on_gpu(gi), strided_on_gpu(ssrc)),
                   eng::scatter_add(x, axis, gi, ssrc)));
        CHECK(same(eng::scatter_add(x.shape(), axis, on_gpu(gi), on_gpu(ssrc)), eng::scatter_add(x.shape(), axis, gi, ssrc)));
      }
      // Any dtype for index_select (bool here); empty index vectors.
      const Tensor b = eng::compare_scalar(eng::CompareOp::gt, randn({5, 3}, 425), 0.0);
      CHECK(same(eng::index_select(on_gpu(b), 0, on_gpu(idx.slice(0, 0, 3))).to(DType::i64),
                 eng::index_select(b, 0, idx.slice(0, 0, 3)).to(DType::i64)));
      const Tensor none = index_vector({}, idt);
      CHECK(eng::index_select(on_gpu(x), 1, on_gpu(none)).numel() == 0);
      CHECK(same(eng::index_add(on_gpu(x), 1, on_gpu(none), on_gpu(Tensor::zeros({3, 0, 5}, dt))), x));
    }
  }
  // Out-of-range indices throw naming the op, the index and the size.
  const Tensor x = randn({3, 4}, 426, DType::f32);
  for (int64_t bad : {-1, 4}) {
    try {
      eng::index_select(on_gpu(x), 1, on_gpu(index_vector({0, bad, 1}, DType::i64)));
      FAIL("expected an index error");
    } catch (const cuttle::Error& e) {
      const std::string m = e.what();
      CHECK(m.find("index_select") != std::string::npos);
      CHECK(m.find(std::to_string(bad)) != std::string::npos);
    }
    CHECK_THROWS_AS(eng::gather(on_gpu(x), 1, on_gpu(Tensor::full({3, 1}, (double)bad, DType::i64))), cuttle::Error);
    CHECK_THROWS_AS(eng::index_add(on_gpu(x), 0, on_gpu(index_vector({bad < 0 ? bad : 3}, DType::i64)),
                                   on_gpu(randn({1, 4}, 427, DType::f32))),
                    cuttle::Error);
  }
}

TEST_CASE("cuda scatter_add with heavy collisions is exact and repeatable") {
  if (!gpu_present()) return;
  // 200000 contributions onto 37 targets: the sorted scatter adds each target's contributions in the
  // CPU's order, so the result is bit-identical to the CPU and from run to run.
  const Tensor src = randn({1, 200000}, 431, DType::f32);
  const Tensor idx = random_indices({1, 200000}, 37, 432);
  const Tensor ref = eng::scatter_add({1, 37}, 1, idx, src);
  const Tensor a = eng::scatter_add({1, 37}, 1, on_gpu(idx), on_gpu(src));
  const Tensor b = eng::scatter_add({1, 37}, 1, on_gpu(idx), on_gpu(src));
  CHECK(same(a, ref));
  CHECK(same(b, a));
  const Tensor ri = random_indices({5000}, 3, 433), rs = randn({5000, 64}, 434, DType::f32);
  const Tensor rows = eng::index_add(Tensor::zeros({3, 64}), 0, ri, rs);
  CHECK(same(eng::index_add(Tensor::zeros({3, 64}, DType::f32, kGpu), 0, on_gpu(ri), on_gpu(rs)), rows));
}

TEST_CASE("sanitize: cuda concat stack split and pad match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  const Tensor a = randn({2, 3, 5}, 441, DType::f32), b = randn({2, 1, 5}, 442, DType::f32);
  const Tensor c = randn({2, 3, 5}, 443, DType::f32);
  CHECK(same(eng::concat({strided_on_gpu(a), on_gpu(b)}, 1), eng::concat({a, b}, 1)));
  CHECK(same(eng::stack({on_gpu(a), strided_on_gpu(c)}, 2), eng::stack({a, c}, 2)));
  CHECK(same(eng::concat({on_gpu(a), on_gpu(Tensor::zeros({2, 0, 5}))}, 1), a));
  CHECK_THROWS_AS(eng::concat({on_gpu(a), c}, 1), cuttle::Error);  // mixed devices
  const std::vector<Tensor> parts = eng::split(on_gpu(a), {1, 2, 0}, 1);
  CHECK(parts.size() == 3);
  CHECK(same(parts[1], a.slice(1, 1, 3)));
  CHECK(parts[1].device() == kGpu);
  CHECK(eng::chunk(on_gpu(a), 2, 2).size() == 2);  // pieces of 3 and 2
  using M = eng::PadMode;
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Shape& s : std::vector<Shape>{{1, 1, 3, 4}, {2, 3, 7, 5}, {3, 9}, {2, 2, 1, 6}}) {
      const Tensor x = randn(s, 444, dt);
      for (M mode : {M::constant, M::reflect, M::replicate})
        for (const std::vector<int64_t>& pads : std::vector<std::vector<int64_t>>{{1, 2}, {0, 3, 2, 1}, {2, 2, 0, 0}}) {
          if (pads.size() == 4 && s.size() < 2) continue;
          bool ok = true;
          for (size_t p = 0; p < pads.size(); ++p) {
            const int64_t n = s[s.size() - 1 - p / 2];
            if (mode == M::reflect && pads[p] >= n) ok = false;
          }
          if (!ok) continue;
          INFO(eng::shape_str(s), " ", eng::pad_mode_name(mode), " pads ", pads.size(), " ", pads[0], pads[1]);
          const Tensor y = eng::pad(x, pads, mode, 1.5);
          CHECK(same(eng::pad(strided_on_gpu(x), pads, mode, 1.5), y));
          const Tensor g = randn(y.shape(), 445, dt);
          // The gathered backward adds each input cell's copies in the CPU's (output) order: exact.
          CHECK(same(eng::pad_backward(strided_on_gpu(g), s, pads, mode), eng::pad_backward(g, s, pads, mode)));
        }
    }
  }
  // Any dtype for pad itself.
  const Tensor i = Tensor::arange(12).reshape({3, 4});
  CHECK(same(eng::pad(on_gpu(i), {1, 1, 1, 1}, M::reflect), eng::pad(i, {1, 1, 1, 1}, M::reflect)));
}

TEST_CASE("sanitize: cuda clamp where add_ mul_scalar_ and add_scalar_ match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor x = randn({7, 33}, 451, dt), g = randn({33}, 452, dt);
    CHECK(same(eng::clamp(strided_on_gpu(x), -0.5, 0.7), eng::clamp(x, -0.5, 0.7)));
    CHECK(same(eng::clamp_backward(on_gpu(g), strided_on_gpu(x), -0.5, 0.7), eng::clamp_backward(g, x, -0.5, 0.7)));
    const Tensor cond = eng::compare_scalar(eng::CompareOp::gt, randn({7, 1}, 453, dt), 0.0);
    CHECK(same(eng::where(on_gpu(cond), strided_on_gpu(x), on_gpu(g)), eng::where(cond, x, g)));
    CHECK(same(eng::where(on_gpu(cond.to(dt)), on_gpu(x), on_gpu(Tensor::zeros({}, dt))),
               eng::where(cond.to(dt), x, Tensor::zeros({}, dt))));
    // add_ on a strided destination with a broadcast operand. The GPU may fuse a + alpha * b into
    // one rounding (FMA), the CPU rounds twice: 1 ulp.
    Tensor ref = x.clone();
    eng::add_(ref, g, 0.3);
    Tensor got = strided_on_gpu(x);
    eng::add_(got, on_gpu(g), 0.3);
    CHECK(rel_err(got, ref) <= (dt == DType::f32 ? 1e-6 : 1e-15));
    eng::mul_scalar_(ref, -1.7);
    eng::mul_scalar_(got, -1.7);
    CHECK(rel_err(got, ref) <= (dt == DType::f32 ? 1e-6 : 1e-15));
    eng::add_scalar_(ref, 0.25);
    eng::add_scalar_(got, 0.25);
    CHECK(rel_err(got, ref) <= (dt == DType::f32 ? 1e-6 : 1e-15));
  }
  Tensor count = on_gpu(Tensor::zeros({}, DType::i64));
  for (int i = 0; i < 3; ++i) eng::add_scalar_(count, 1);
  CHECK(count.to(kCpu).item() == 3);
  Tensor iv = Tensor::arange(10);
  Tensor ig = on_gpu(iv);
  eng::add_(ig, on_gpu(Tensor::arange(10)), 2.0);
  eng::mul_scalar_(ig, 3.0);
  CHECK(ig.to(kCpu).to_vector<int64_t>() == std::vector<int64_t>{0, 9, 18, 27, 36, 45, 54, 63, 72, 81});
  CHECK(same(eng::clamp(ig, 10, 50), eng::clamp(ig.to(kCpu), 10, 50)));
}

TEST_CASE("sanitize: cuda moe_combine, moe_dispatch and their backwards match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  // B = 7 samples, k = 2 of E = 4 experts (expert 3 unused: three outputs), per-sample pairs drawn
  // deterministically; rows of 1, 33 and 3x7x7 elements (not multiples of the block) and of 2x90x91 and
  // 3x100x100 (several chunks of the weights' backward, the last one partial).
  const int64_t B = 7, k = 2;
  const std::vector<std::vector<int64_t>> pairs = {{0, 1}, {2, 0}, {1, 2}, {0, 2}, {2, 1}, {1, 0}, {0, 2}};
  std::vector<std::vector<int64_t>> samples(3), slots(3);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < k; ++j) {
      samples[(size_t)pairs[(size_t)b][(size_t)j]].push_back(b);
      slots[(size_t)pairs[(size_t)b][(size_t)j]].push_back(b * k + j);
    }
  std::vector<int64_t> t;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t e = 0; e < 3; ++e)
      for (size_t p = 0; p < samples[(size_t)e].size(); ++p)
        if (samples[(size_t)e][p] == b) t.insert(t.end(), {b, e, (int64_t)p, slots[(size_t)e][p]});
  const Tensor table = Tensor::from_vector<int64_t>(t, {B * k, 4});
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& rest : {Shape{1}, Shape{33}, Shape{3, 7, 7}, Shape{2, 90, 91}, Shape{3, 100, 100}}) {
      INFO(eng::dtype_name(dt), " ", eng::shape_str(rest));
      std::vector<Tensor> ys, gys;
      for (int64_t e = 0; e < 3; ++e) {
        Shape s{(int64_t)samples[(size_t)e].size()};
        s.insert(s.end(), rest.begin(), rest.end());
        ys.push_back(randn(s, 730 + e, dt));
        gys.push_back(on_gpu(ys.back()));
      }
      Shape gs{B};
      gs.insert(gs.end(), rest.begin(), rest.end());
      const Tensor w = randn({B * k}, 734, dt), g = randn(gs, 735, dt);
      const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
      CHECK(rel_err(eng::moe_combine(gys, on_gpu(w), on_gpu(table), B), eng::moe_combine(ys, w, table, B)) <= tol);
      const eng::MoECombineGrads ref = eng::moe_combine_backward(g, ys, w, table, true, true);
      const eng::MoECombineGrads got = eng::moe_combine_backward(on_gpu(g), gys, on_gpu(w), on_gpu(table), true, true);
      REQUIRE(got.ys.size() == 3);
      for (size_t e = 0; e < 3; ++e) CHECK(rel_err(got.ys[e], ref.ys[e]) <= tol);
      CHECK(rel_err(got.weights, ref.weights) <= tol);
      const eng::MoECombineGrads only_w = eng::moe_combine_backward(on_gpu(g), gys, on_gpu(w), on_gpu(table), false, true);
      CHECK(only_w.ys.empty());
      CHECK(same(only_w.weights, got.weights));
      const eng::MoECombineGrads only_ys = eng::moe_combine_backward(on_gpu(g), gys, on_gpu(w), on_gpu(table), true, false);
      CHECK(!only_ys.weights.defined());
      REQUIRE(only_ys.ys.size() == 3);
      for (size_t e = 0; e < 3; ++e) CHECK(same(only_ys.ys[e], got.ys[e]));
      // The dispatch through the same table, and its backward (a plain sum: exact).
      const std::vector<int64_t> rows = {ys[0].size(0), ys[1].size(0), ys[2].size(0)};
      const std::vector<Tensor> dref = eng::moe_dispatch(g, table, rows), dgot = eng::moe_dispatch(on_gpu(g), on_gpu(table), rows);
      for (size_t e = 0; e < 3; ++e) CHECK(same(dgot[e], dref[e]));
      CHECK(same(eng::moe_dispatch_backward(gys, on_gpu(table), B), eng::moe_dispatch_backward(ys, table, B)));
    }
}

TEST_CASE("sanitize: cuda concat joins contiguous inputs in one launch as the CPU does") {
  if (!gpu_present()) return;
  Poison poison;
  // Axis 0, a middle axis and the last one; a zero-size piece; odd sizes; every dtype class; 16 inputs
  // (the most one launch takes) and 17 (the per-input path); a transposed input (the per-input path).
  for (DType dt : {DType::f32, DType::f64, DType::i64, DType::u8}) {
    INFO(eng::dtype_name(dt));
    for (int axis : {0, 1, 3}) {
      INFO("axis ", axis);
      std::vector<Tensor> xs;
      for (int64_t n : {3, 0, 5, 1}) {
        Shape s{2, 3, 4, 7};
        s[(size_t)axis] = n;
        const bool whole = dt == DType::i64 || dt == DType::u8;  // small non-negative integers: exact in u8
        xs.push_back(whole ? Tensor::arange(eng::shape_numel(s)).reshape(s).to(dt) : randn(s, 740 + n, DType::f64).to(dt));
      }
      std::vector<Tensor> gx;
      for (const Tensor& x : xs) gx.push_back(on_gpu(x));
      CHECK(same(eng::concat(gx, axis), eng::concat(xs, axis)));
    }
  }
  for (int count : {16, 17}) {
    std::vector<Tensor> xs, gx;
    for (int i = 0; i < count; ++i) {
      xs.push_back(randn({2, 1 + i % 3, 33}, 750 + i, DType::f32));
      gx.push_back(on_gpu(xs.back()));
    }
    CHECK(same(eng::concat(gx, 1), eng::concat(xs, 1)));
  }
  const Tensor a = randn({4, 6}, 760, DType::f32), b = randn({6, 4}, 761, DType::f32);
  CHECK(same(eng::concat({on_gpu(a), on_gpu(b).transpose(0, 1)}, 0), eng::concat({a, b.transpose(0, 1)}, 0)));
}

}
