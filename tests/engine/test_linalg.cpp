// Tests of matmul and linear against triple loops.
#include "engine/ops/linalg.h"
#include "engine/parallel.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

namespace {

// op(a) x op(b) by the definition, batch axes broadcast through expand().
Tensor ref_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  Tensor A = ta ? a.transpose(-1, -2) : a, B = tb ? b.transpose(-1, -2) : b;
  const int64_t M = A.size(-2), K = A.size(-1), N = B.size(-1);
  Shape batch = eng::broadcast_shapes(Shape(A.shape().begin(), A.shape().end() - 2),
                                      Shape(B.shape().begin(), B.shape().end() - 2), "ref");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  std::vector<double> va = A.expand(sa).contiguous().to_vector<double>();
  std::vector<double> vb = B.expand(sb).contiguous().to_vector<double>();
  std::vector<double> vo(eng::shape_numel(so), 0.0);
  const int64_t nb = eng::shape_numel(batch);
  for (int64_t t = 0; t < nb; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += va[t * M * K + i * K + k] * vb[t * K * N + k * N + j];
        vo[t * M * N + i * N + j] = s;
      }
  return Tensor::from_vector<double>(vo, so);
}

void check_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, double tol) {
  Tensor r = eng::matmul(a, b, ta, tb);
  Tensor want = ref_matmul(a, b, ta, tb);
  REQUIRE(r.shape() == want.shape());
  CHECK(max_rel_diff(r.to(DType::f64), want) <= tol);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>();
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("matmul 2-D matches a triple loop at odd sizes") {
  const int64_t sizes[] = {1, 3, 7, 33};
  uint64_t seed = 1;
  for (int64_t m : sizes)
    for (int64_t k : sizes)
      for (int64_t n : sizes) {
        CAPTURE(m);
        CAPTURE(k);
        CAPTURE(n);
        check_matmul(randn({m, k}, seed++), randn({k, n}, seed++), false, false, 1e-12);
      }
}

TEST_CASE("matmul with transpose flags reads transposed operands") {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      CAPTURE(ta);
      CAPTURE(tb);
      Tensor a = ta ? randn({33, 7}, 10) : randn({7, 33}, 10);
      Tensor b = tb ? randn({3, 33}, 11) : randn({33, 3}, 11);
      check_matmul(a, b, ta, tb, 1e-12);
      check_matmul(a.to(DType::f32), b.to(DType::f32), ta, tb, 1e-5);
    }
  // Transposed and strided views without flags: column-major and copied operands.
  Tensor a = randn({9, 5}, 12).transpose(0, 1);     // [5, 9], column-major
  Tensor b = randn({9, 8}, 13).slice(1, 0, 8, 2);   // [9, 4], no unit stride
  check_matmul(a, b, false, false, 1e-12);
}

TEST_CASE("matmul batched, with broadcast batch axes") {
  check_matmul(randn({4, 3, 7}, 20), randn({4, 7, 5}, 21), false, false, 1e-12);
  check_matmul(randn({2, 3, 7, 1}, 22), randn({3, 1, 33}, 23), false, false, 1e-12);
  check_matmul(randn({2, 1, 3, 7}, 24), randn({1, 4, 7, 5}, 25), false, false, 1e-12);
  check_matmul(randn({3, 7}, 26), randn({2, 3, 5, 7}, 27), false, true, 1e-12);
  check_matmul(randn({2, 3, 7, 4}, 28), randn({7, 6}, 29), true, false, 1e-12);
  check_matmul(randn({5, 3, 7}, 30).to(DType::f32), randn({7, 5}, 31).to(DType::f32), false, false, 1e-5);
}

TEST_CASE("matmul spanning many tiles") {
  check_matmul(randn({300, 130}, 40), randn({130, 520}, 41), false, false, 1e-11);
  check_matmul(randn({130, 300}, 42).to(DType::f32), randn({520, 130}, 43).to(DType::f32), true, true, 1e-4);
}

TEST_CASE("matmul rejects bad operands") {
  CHECK_THROWS_AS(eng::matmul(randn({3}, 1), randn({3, 2}, 2)), cuttle::Error);
  CHECK_THROWS_AS(eng::matmul(randn({2, 3}, 1), randn({4, 2}, 2)), cuttle::Error);
  CHECK_THROWS_AS(eng::matmul(randn({2, 2, 3}, 1), randn({3, 3, 2}, 2)), cuttle::Error);
  CHECK_THROWS_AS(eng::matmul(randn({2, 3}, 1), randn({3, 2}, 2, DType::f32)), cuttle::Error);
  CHECK_THROWS_AS(eng::matmul(Tensor::zeros({2, 3}, DType::i64), Tensor::zeros({3, 2}, DType::i64)), cuttle::Error);
  CHECK(eng::matmul(randn({2, 0}, 1), randn({0, 3}, 2)).to_vector<double>() == std::vector<double>(6, 0.0));
}

TEST_CASE("linear matches x w^T + b") {
  Tensor x = randn({2, 3, 7}, 50), w = randn({5, 7}, 51), b = randn({5}, 52);
  Tensor y = eng::linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 5});
  std::vector<double> vx = x.to_vector<double>(), vw = w.to_vector<double>(), vb = b.to_vector<double>(),
                      vy = y.to_vector<double>();
  for (int r = 0; r < 6; ++r)
    for (int o = 0; o < 5; ++o) {
      double s = vb[o];
      for (int i = 0; i < 7; ++i) s += vx[r * 7 + i] * vw[o * 7 + i];
      CHECK(vy[r * 5 + o] == doctest::Approx(s).epsilon(1e-12));
    }
  check_close(eng::linear(x, w), ref_matmul(x, w, false, true), 1e-12);
  check_close(eng::linear(randn({7}, 53), w, b).reshape({1, 5}),
              eng::linear(randn({7}, 53).reshape({1, 7}), w, b), 0);
  CHECK_THROWS_AS(eng::linear(x, randn({5, 6}, 54)), cuttle::Error);
  CHECK_THROWS_AS(eng::linear(x, w, randn({4}, 55)), cuttle::Error);
}

TEST_CASE("matmul and linear give identical results with 1 and 2 threads") {
  const int saved = eng::num_threads();
  Tensor a = randn({3, 200, 300}, 60, DType::f32), b = randn({300, 400}, 61, DType::f32);
  Tensor c = randn({4, 64, 48}, 62, DType::f32), d = randn({4, 48, 80}, 63, DType::f32);
  Tensor w = randn({400, 300}, 64, DType::f32), bias = randn({400}, 65, DType::f32);
  eng::set_num_threads(1);
  Tensor r1 = eng::matmul(a, b), s1 = eng::matmul(c, d, false, false), l1 = eng::linear(a, w, bias);
  Tensor t1 = eng::matmul(a, a, true, false);
  eng::set_num_threads(2);
  Tensor r2 = eng::matmul(a, b), s2 = eng::matmul(c, d, false, false), l2 = eng::linear(a, w, bias);
  Tensor t2 = eng::matmul(a, a, true, false);
  eng::set_num_threads(saved);
  CHECK(bitwise_equal(r1, r2));
  CHECK(bitwise_equal(s1, s2));
  CHECK(bitwise_equal(l1, l2));
  CHECK(bitwise_equal(t1, t2));
}

}  // TEST_SUITE
