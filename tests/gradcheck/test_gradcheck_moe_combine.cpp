// The mixture-of-experts dispatch and combination (engine/ops/moe_combine.h): float64 gradient checks
// of the expert rows, the weights and the dispatched input under a sparse (uneven experts) and a dense
// table, agreement with an index_select / a mul and an index_add per expert, and the table checks.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/moe_combine.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/reduce.h"
#include "engine/ops/moe_combine.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;
namespace eng = cuttle::engine;
using V = std::vector<Var>;

namespace {

// B = 5 samples, k = 2 of E = 3 experts: sample b chose experts pairs[b] with weights w[b, 0..1].
// Expert rows in sample order; the table lists each sample's experts by increasing index.
const int64_t kB = 5, kK = 2;
const std::vector<std::vector<int64_t>> kPairs = {{0, 2}, {1, 0}, {2, 1}, {0, 1}, {2, 0}};

struct Sparse {
  std::vector<std::vector<int64_t>> samples{3}, slots{3};
  Tensor table;
};

Sparse sparse_table() {
  Sparse s;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t j = 0; j < kK; ++j) {
      s.samples[(size_t)kPairs[(size_t)b][(size_t)j]].push_back(b);
      s.slots[(size_t)kPairs[(size_t)b][(size_t)j]].push_back(b * kK + j);
    }
  std::vector<int64_t> t;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t e = 0; e < 3; ++e)
      for (size_t p = 0; p < s.samples[(size_t)e].size(); ++p)
        if (s.samples[(size_t)e][p] == b) t.insert(t.end(), {b, e, (int64_t)p, s.slots[(size_t)e][p]});
  s.table = Tensor::from_vector<int64_t>(t, {kB * kK, 4});
  return s;
}

std::vector<Tensor> expert_rows(const Sparse& s, DType dt, uint64_t seed) {
  std::vector<Tensor> ys;
  for (int64_t e = 0; e < 3; ++e) ys.push_back(randn({(int64_t)s.samples[(size_t)e].size(), 2, 3}, seed + e, dt));
  return ys;
}

}  // namespace

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck moe_combine with uneven experts and with a dense table") {
  const Sparse s = sparse_table();
  const std::vector<Tensor> ys = expert_rows(s, DType::f64, 700);
  check_gradcheck([&](const V& v) { return moe_combine({v[0], v[1], v[2]}, v[3], s.table, kB); },
                  {ys[0], ys[1], ys[2], randn({kB * kK}, 703)});
  // Dense: every expert on every sample, weights [B, E].
  std::vector<int64_t> t;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t e = 0; e < 2; ++e) t.insert(t.end(), {b, e, b, b * 2 + e});
  const Tensor dense = Tensor::from_vector<int64_t>(t, {6, 4});
  check_gradcheck([&](const V& v) { return moe_combine({v[0], v[1]}, v[2], dense, 3); },
                  {randn({3, 4}, 704), randn({3, 4}, 705), randn({3, 2}, 706)});
}

TEST_CASE("gradcheck moe_dispatch feeding moe_combine (squares as the experts)") {
  const Sparse s = sparse_table();
  const std::vector<int64_t> rows = {(int64_t)s.samples[0].size(), (int64_t)s.samples[1].size(),
                                     (int64_t)s.samples[2].size()};
  check_gradcheck(
      [&](const V& v) {
        std::vector<Var> in = moe_dispatch(v[0], s.table, rows);
        for (size_t i = 0; i < in.size(); ++i) in[i] = mul(in[i], in[i]);  // something non-linear per expert
        return moe_combine(in, v[1], s.table, kB);
      },
      {randn({kB, 2, 3}, 707), randn({kB * kK}, 708)});
}

}

TEST_SUITE("engine") {

TEST_CASE("moe_dispatch gathers each expert's rows and its backward sums them back") {
  const Sparse s = sparse_table();
  const std::vector<int64_t> rows = {(int64_t)s.samples[0].size(), (int64_t)s.samples[1].size(),
                                     (int64_t)s.samples[2].size()};
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(eng::dtype_name(dt));
    const Tensor x = randn({kB, 2, 3}, 715, dt);
    const std::vector<Tensor> got = eng::moe_dispatch(x, s.table, rows);
    REQUIRE(got.size() == 3);
    std::vector<Tensor> grads;
    Tensor ref_grad = Tensor::zeros(x.shape(), dt);
    for (int64_t e = 0; e < 3; ++e) {
      const Tensor ids = Tensor::from_vector<int64_t>(s.samples[(size_t)e], {rows[(size_t)e]});
      CHECK(max_rel_diff(got[(size_t)e], eng::index_select(x, 0, ids)) == 0);
      grads.push_back(randn(got[(size_t)e].shape(), 716 + e, dt));
      ref_grad = eng::index_add(ref_grad, 0, ids, grads.back());
    }
    CHECK(max_rel_diff(eng::moe_dispatch_backward(grads, s.table, kB), ref_grad) == 0);
  }
  // Any dtype forward; a transposed x is made contiguous first.
  const Tensor xi = Tensor::arange(kB * 6).reshape({kB, 6});
  CHECK(eng::moe_dispatch(xi, s.table, rows)[1].to_vector<int64_t>() ==
        eng::index_select(xi, 0, Tensor::from_vector<int64_t>(s.samples[1], {rows[1]})).to_vector<int64_t>());
  const Tensor xt = randn({6, kB}, 719, DType::f32).transpose(0, 1);
  CHECK(max_rel_diff(eng::moe_dispatch(xt, s.table, rows)[2],
                     eng::index_select(xt, 0, Tensor::from_vector<int64_t>(s.samples[2], {rows[2]}))) == 0);
  CHECK_THROWS_WITH_AS(eng::moe_dispatch(xi, s.table, {4, 4, 3}), doctest::Contains("11 expert rows"), cuttle::Error);
}

TEST_CASE("moe_combine equals a mul and an index_add per expert, in both directions") {
  const Sparse s = sparse_table();
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(eng::dtype_name(dt));
    const std::vector<Tensor> ys = expert_rows(s, dt, 710);
    const Tensor w = randn({kB * kK}, 713, dt), g = randn({kB, 2, 3}, 714, dt);
    Tensor ref = Tensor::zeros({kB, 2, 3}, dt);
    for (int64_t e = 0; e < 3; ++e) {
      const Tensor ids = Tensor::from_vector<int64_t>(s.samples[(size_t)e], {(int64_t)s.samples[(size_t)e].size()});
      const Tensor we = eng::index_select(w, 0, Tensor::from_vector<int64_t>(s.slots[(size_t)e], ids.shape()));
      ref = eng::index_add(ref, 0, ids, eng::mul(ys[(size_t)e], we.reshape({ids.numel(), 1, 1})));
    }
    const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
    CHECK(max_rel_diff(eng::moe_combine(ys, w, s.table, kB), ref) <= tol);
    const eng::MoECombineGrads d = eng::moe_combine_backward(g, ys, w, s.table, true, true);
    REQUIRE(d.ys.size() == 3);
    for (int64_t e = 0; e < 3; ++e) {
      const Tensor ids = Tensor::from_vector<int64_t>(s.samples[(size_t)e], {(int64_t)s.samples[(size_t)e].size()});
      const Tensor slots = Tensor::from_vector<int64_t>(s.slots[(size_t)e], ids.shape());
      const Tensor ge = eng::index_select(g, 0, ids);
      CHECK(max_rel_diff(d.ys[(size_t)e], eng::mul(ge, eng::index_select(w, 0, slots).reshape({ids.numel(), 1, 1}))) <= tol);
      const Tensor dots = eng::sum(eng::mul(ge, ys[(size_t)e]), {1, 2});
      CHECK(max_rel_diff(eng::index_select(d.weights, 0, slots), dots) <= tol);
    }
    const eng::MoECombineGrads only_w = eng::moe_combine_backward(g, ys, w, s.table, false, true);
    CHECK(only_w.ys.empty());
    CHECK(max_rel_diff(only_w.weights, d.weights) == 0);
  }
}

TEST_CASE("moe_combine names what is wrong with its table") {
  const Sparse s = sparse_table();
  const std::vector<Tensor> ys = expert_rows(s, DType::f32, 720);
  const Tensor w = randn({kB * kK}, 723, DType::f32);
  auto with = [&](int64_t entry, int64_t field, int64_t value) {
    Tensor t = s.table.clone();
    t.data<int64_t>()[entry * 4 + field] = value;
    return t;
  };
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w, with(3, 0, 0), kB), doctest::Contains("names sample 0, expected 1"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w, with(0, 2, 9), kB), doctest::Contains("which does not exist"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w, with(1, 3, 0), kB), doctest::Contains("weight 0 appears twice"),
                       cuttle::Error);
  const Tensor t0 = s.table.clone();
  Tensor dup = t0.clone();
  for (int f = 1; f < 3; ++f) dup.data<int64_t>()[1 * 4 + f] = t0.data<int64_t>()[0 * 4 + f];  // entry 1 = entry 0's row
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w, dup, kB), doctest::Contains("appears twice"), cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w, s.table.slice(0, 0, 8), kB), doctest::Contains("entries for 10 expert rows"),
                       cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::moe_combine({ys[0], ys[1], randn({4, 3, 2}, 1, DType::f32)}, w, s.table, kB),
                       doctest::Contains("expert output 2 is"), cuttle::Error);
  CHECK_THROWS_WITH_AS(eng::moe_combine(ys, w.to(DType::f64), s.table, kB), doctest::Contains("must be contiguous f64"),
                       cuttle::Error);
}

}
