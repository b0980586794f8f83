// Tests of the attention functions: forwards against plain loops, float64 gradchecks (several heads,
// N != M, strided views), partial gradients, large scores, and shape errors.
#include "autograd/functions/attention.h"
#include "autograd/functions/views.h"
#include "engine/error.h"
#include "tests/layers/attention/naive_attention.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

TEST_SUITE("layers") {

TEST_CASE("attention sdpa forward equals a per-head loop") {
  const int64_t B = 2, h = 3, N = 5, M = 7, d = 4, dv = 3;
  Tensor q = randn({B, h, N, d}, 1), k = randn({B, h, M, d}, 2), v = randn({B, h, M, dv}, 3);
  const double scale = 0.37;
  Tensor y = autograd::scaled_dot_product_attention(Var(q), Var(k), Var(v), scale).data();
  REQUIRE(y.shape() == Shape{B, h, N, dv});
  Tensor want = Tensor::from_vector(naive::sdpa(q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(),
                                                B * h, N, M, d, dv, scale),
                                    {B, h, N, dv});
  CHECK(max_rel_diff(y, want) < 1e-13);
  // f32 agrees to f32 precision.
  Tensor y32 = autograd::scaled_dot_product_attention(Var(q.to(DType::f32)), Var(k.to(DType::f32)),
                                                      Var(v.to(DType::f32)), scale)
                   .data();
  CHECK(y32.dtype() == DType::f32);
  CHECK(max_rel_diff(y32.to(DType::f64), want) < 1e-5);
}

TEST_CASE("attention sdpa reads permuted head views like contiguous data") {
  // [B, N, h, d] tokens viewed as [B, h, N, d], as the layers do.
  Tensor qt = randn({2, 6, 2, 3}, 4), kt = randn({2, 4, 2, 3}, 5), vt = randn({2, 4, 2, 3}, 6);
  auto heads = [](const Tensor& t) { return t.permute({0, 2, 1, 3}); };
  Tensor a = autograd::scaled_dot_product_attention(Var(heads(qt)), Var(heads(kt)), Var(heads(vt)), 0.5).data();
  Tensor b = autograd::scaled_dot_product_attention(Var(heads(qt).contiguous()), Var(heads(kt).contiguous()),
                                                    Var(heads(vt).contiguous()), 0.5)
                 .data();
  CHECK(max_rel_diff(a, b) < 1e-14);
}

TEST_CASE("attention sdpa is stable for large scores") {
  Tensor q = randn({1, 1, 3, 2}, 7), k = randn({1, 1, 4, 2}, 8), v = randn({1, 1, 4, 2}, 9);
  Tensor y = autograd::scaled_dot_product_attention(Var(q), Var(k), Var(v), 1e4).data();
  for (double e : y.to_vector<double>()) CHECK(std::isfinite(e));
}

TEST_CASE("attention sdpa rejects mismatched shapes") {
  Var q(randn({1, 2, 3, 4}, 1)), k(randn({1, 2, 5, 4}, 2)), v(randn({1, 2, 5, 4}, 3));
  CHECK_THROWS_AS(autograd::scaled_dot_product_attention(q, Var(randn({1, 2, 5, 3}, 4)), v, 1.0), cuttle::Error);
  CHECK_THROWS_AS(autograd::scaled_dot_product_attention(q, k, Var(randn({1, 2, 6, 4}, 5)), 1.0), cuttle::Error);
  CHECK_THROWS_AS(autograd::scaled_dot_product_attention(q, Var(randn({1, 3, 5, 4}, 6)), v, 1.0), cuttle::Error);
  CHECK_THROWS_AS(autograd::linear_attention(q, k, v), cuttle::Error);  // linear attention needs N == M
  try {
    autograd::scaled_dot_product_attention(q, Var(randn({1, 2, 5, 3}, 4)), v, 1.0);
  } catch (const cuttle::Error& e) {
    CHECK(std::string(e.what()).find("[1,2,5,3]") != std::string::npos);
  }
}

TEST_CASE("attention sdpa gradient of one input alone equals the full gradient") {
  Tensor q = randn({2, 2, 3, 4}, 11), k = randn({2, 2, 5, 4}, 12), v = randn({2, 2, 5, 2}, 13);
  Tensor r = randn({2, 2, 3, 2}, 14);
  Var qa(q, true), ka(k, true), va(v, true);
  autograd::scaled_dot_product_attention(qa, ka, va, 0.5).backward(r);
  for (int which = 0; which < 3; ++which) {
    CAPTURE(which);
    Var qb(q, which == 0), kb(k, which == 1), vb(v, which == 2);
    autograd::scaled_dot_product_attention(qb, kb, vb, 0.5).backward(r);
    const Var& got = which == 0 ? qb : which == 1 ? kb : vb;
    const Var& want = which == 0 ? qa : which == 1 ? ka : va;
    CHECK(max_rel_diff(got.grad(), want.grad()) < 1e-14);
  }
}

TEST_CASE("attention linear attention forward equals a per-head loop") {
  const int64_t B = 2, h = 3, N = 6, d = 4, dv = 5;
  Tensor q = randn({B, h, N, d}, 21), k = randn({B, h, N, d}, 22), v = randn({B, h, N, dv}, 23);
  Tensor y = autograd::linear_attention(Var(q), Var(k), Var(v)).data();
  REQUIRE(y.shape() == Shape{B, h, N, dv});
  Tensor want = Tensor::from_vector(
      naive::linear_attention(q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(), B * h, N, d, dv),
      {B, h, N, dv});
  CHECK(max_rel_diff(y, want) < 1e-13);
}

}  // TEST_SUITE layers

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck attention sdpa with several heads and N != M") {
  check_gradcheck(
      [](const std::vector<Var>& v) { return autograd::scaled_dot_product_attention(v[0], v[1], v[2], 0.6); },
      {randn({2, 3, 4, 3}, 31), randn({2, 3, 5, 3}, 32), randn({2, 3, 5, 2}, 33)});
}

TEST_CASE("gradcheck attention sdpa on permuted views") {
  check_gradcheck(
      [](const std::vector<Var>& v) {
        auto heads = [](const Var& t) { return autograd::permute(t, {0, 2, 1, 3}); };
        return autograd::scaled_dot_product_attention(heads(v[0]), heads(v[1]), heads(v[2]), 1.0 / std::sqrt(2.0));
      },
      {randn({1, 5, 2, 2}, 34), randn({1, 3, 2, 2}, 35), randn({1, 3, 2, 2}, 36)});
}

TEST_CASE("gradcheck attention linear attention") {
  check_gradcheck([](const std::vector<Var>& v) { return autograd::linear_attention(v[0], v[1], v[2]); },
                  {randn({2, 2, 5, 3}, 41), randn({2, 2, 5, 3}, 42), randn({2, 2, 5, 4}, 43)});
}

}  // TEST_SUITE gradcheck
