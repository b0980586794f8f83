// Tests of topk, index_select, gather, scatter_add and index_add against loops.
#include <algorithm>
#include <numeric>
#include <string>

#include "engine/ops/index.h"
#include "engine/parallel.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

namespace {

Tensor idx64(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }

// The error message of f, or "" when it does not throw.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const cuttle::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("topk matches a stable sort, ties to the lower index") {
  // Rows of [4, 10] with many ties.
  std::vector<double> v = {3, 1, 3, 2, 3, 0, 1, 2, 3, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
                           -1, 4, 2, 4, 9, 0, 9, 1, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  Tensor x = Tensor::from_vector<double>(v, {4, 10});
  for (bool largest : {true, false})
    for (int64_t k : {int64_t(1), int64_t(4), int64_t(10)}) {
      CAPTURE(largest);
      CAPTURE(k);
      eng::TopK r = eng::topk(x, k, 1, largest);
      REQUIRE(r.values.shape() == Shape{4, k});
      REQUIRE(r.indices.dtype() == DType::i64);
      std::vector<double> rv = r.values.to_vector<double>();
      std::vector<int64_t> ri = r.indices.to_vector<int64_t>();
      for (int row = 0; row < 4; ++row) {
        std::vector<int64_t> order(10);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? v[row * 10 + a] > v[row * 10 + b] : v[row * 10 + a] < v[row * 10 + b];
        });
        for (int64_t t = 0; t < k; ++t) {
          CHECK(ri[row * k + t] == order[t]);
          CHECK(rv[row * k + t] == v[row * 10 + order[t]]);
        }
      }
    }
}

TEST_CASE("topk along a middle axis, unsorted, integer input, NaN and errors") {
  Tensor x = randn({2, 6, 3}, 1, DType::f32);
  eng::TopK r = eng::topk(x, 2, 1);
  REQUIRE(r.values.shape() == Shape{2, 2, 3});
  std::vector<float> vx = x.to_vector<float>(), rv = r.values.to_vector<float>();
  std::vector<int64_t> ri = r.indices.to_vector<int64_t>();
  for (int o = 0; o < 2; ++o)
    for (int j = 0; j < 3; ++j) {
      std::vector<float> lane;
      for (int k = 0; k < 6; ++k) lane.push_back(vx[(o * 6 + k) * 3 + j]);
      std::sort(lane.rbegin(), lane.rend());
      for (int t = 0; t < 2; ++t) {
        CHECK(rv[(o * 2 + t) * 3 + j] == lane[t]);
        CHECK(vx[(o * 6 + ri[(o * 2 + t) * 3 + j]) * 3 + j] == lane[t]);
      }
    }
  eng::TopK u = eng::topk(Tensor::from_vector<int32_t>({4, 9, 1, 7}, {4}), 2, 0, true, false);
  CHECK(u.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 3});  // index order
  CHECK(u.values.to_vector<int64_t>() == std::vector<int64_t>{9, 7});
  eng::TopK nan = eng::topk(Tensor::from_vector<double>({1, NAN, 3}, {3}), 1, 0);
  CHECK(nan.indices.to_vector<int64_t>() == std::vector<int64_t>{1});
  CHECK(eng::topk(x, 0, 1).values.shape() == Shape{2, 0, 3});
  CHECK(error_of([&] { eng::topk(x, 7, 1); }).find("topk") != std::string::npos);
}

TEST_CASE("index_select and index_add with repeated indices") {
  Tensor x = randn({3, 4, 2}, 2);
  Tensor idx = idx64({2, 0, 2, 3, 2}, {5});
  Tensor s = eng::index_select(x, 1, idx);
  REQUIRE(s.shape() == Shape{3, 5, 2});
  std::vector<double> vx = x.to_vector<double>(), vs = s.to_vector<double>();
  const std::vector<int64_t> vi = idx.to_vector<int64_t>();
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 2; ++j) CHECK(vs[(o * 5 + i) * 2 + j] == vx[(o * 4 + vi[i]) * 2 + j]);

  Tensor src = randn({3, 5, 2}, 3);
  Tensor a = eng::index_add(x, 1, idx, src);
  std::vector<double> want = vx, vsrc = src.to_vector<double>();
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 2; ++j) want[(o * 4 + vi[i]) * 2 + j] += vsrc[(o * 5 + i) * 2 + j];
  std::vector<double> got = a.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  CHECK(x.to_vector<double>() == vx);  // out of place

  // Batch axis, i32 indices, integer data.
  Tensor xi = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor i32 = Tensor::from_vector<int32_t>({2, 2, 0}, {3});
  CHECK(eng::index_select(xi, 0, i32).to_vector<int64_t>() == std::vector<int64_t>{5, 6, 5, 6, 1, 2});
  CHECK(eng::index_add(xi, 0, i32, Tensor::ones({3, 2}, DType::i64)).to_vector<int64_t>() ==
        std::vector<int64_t>{2, 3, 3, 4, 7, 8});

  const std::string e1 = error_of([&] { eng::index_select(x, 1, idx64({0, 4}, {2})); });
  CHECK(e1.find("index_select") != std::string::npos);
  CHECK(e1.find("index 4") != std::string::npos);
  CHECK(e1.find("size 4") != std::string::npos);
  CHECK(error_of([&] { eng::index_add(x, 1, idx64({-1}, {1}), randn({3, 1, 2}, 4)); }).find("index_add: index -1") !=
        std::string::npos);
  CHECK_THROWS_AS(eng::index_add(x, 1, idx, randn({3, 4, 2}, 5)), cuttle::Error);
  CHECK_THROWS_AS(eng::index_select(x, 1, Tensor::zeros({2}, DType::f32)), cuttle::Error);
}

TEST_CASE("gather and scatter_add match loops") {
  Tensor x = randn({3, 5}, 6);
  Tensor idx = idx64({4, 0, 4, 1, 1, 1, 0, 3, 2, 2, 2, 2}, {3, 4});
  Tensor g = eng::gather(x, 1, idx);
  std::vector<double> vx = x.to_vector<double>(), vg = g.to_vector<double>();
  std::vector<int64_t> vi = idx.to_vector<int64_t>();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) CHECK(vg[r * 4 + c] == vx[r * 5 + vi[r * 4 + c]]);
  // Gather along axis 0 with an index smaller than the input on the other axis.
  Tensor g0 = eng::gather(x, 0, idx64({2, 0, 1, 1}, {2, 2}));
  CHECK(g0.to_vector<double>() == std::vector<double>{vx[10], vx[1], vx[5], vx[6]});

  // scatter_add with repeated targets and a src larger than idx.
  Tensor src = randn({3, 6}, 7);
  Tensor base = randn({3, 5}, 8);
  Tensor s = eng::scatter_add(base, 1, idx, src);
  std::vector<double> want = base.to_vector<double>(), vsrc = src.to_vector<double>();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) want[r * 5 + vi[r * 4 + c]] += vsrc[r * 6 + c];
  std::vector<double> got = s.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  Tensor z = eng::scatter_add(Shape{4}, 0, idx64({3, 3, 0}, {3}), Tensor::from_vector<float>({1, 2, 4}, {3}));
  CHECK(z.to_vector<float>() == std::vector<float>{4, 0, 0, 3});

  const std::string e = error_of([&] { eng::gather(x, 1, idx64({5}, {1, 1})); });
  CHECK(e.find("gather: index 5") != std::string::npos);
  CHECK(e.find("size 5") != std::string::npos);
  CHECK(error_of([&] { eng::scatter_add(base, 0, idx64({3}, {1, 1}), src); }).find("scatter_add: index 3") !=
        std::string::npos);
  CHECK_THROWS_AS(eng::gather(x, 1, idx64({0}, {1})), cuttle::Error);  // rank mismatch
}

TEST_CASE("indexing ops give identical results with 1 and 2 threads") {
  const int saved = eng::num_threads();
  // Mixture-of-experts shaped: many repeated rows on the batch axis.
  Tensor base = randn({16, 8, 32, 32}, 9, DType::f32);
  std::vector<int64_t> iv(64);
  for (int i = 0; i < 64; ++i) iv[i] = (i * 7) % 16;
  Tensor idx = idx64(iv, {64});
  Tensor src = randn({64, 8, 32, 32}, 10, DType::f32);
  Tensor sidx = idx.reshape({64, 1, 1, 1}).expand({64, 8, 32, 32});  // repeated targets for scatter_add
  eng::set_num_threads(1);
  Tensor a1 = eng::index_add(base, 0, idx, src), b1 = eng::index_select(src, 0, idx);
  Tensor c1 = eng::scatter_add(base, 0, sidx, src);
  eng::set_num_threads(2);
  Tensor a2 = eng::index_add(base, 0, idx, src), b2 = eng::index_select(src, 0, idx);
  Tensor c2 = eng::scatter_add(base, 0, sidx, src);
  eng::set_num_threads(saved);
  CHECK(a1.to_vector<float>() == a2.to_vector<float>());
  CHECK(b1.to_vector<float>() == b2.to_vector<float>());
  CHECK(c1.to_vector<float>() == c2.to_vector<float>());
}

TEST_CASE("IndicesVouched nests, restores the previous state, and leaves the CPU range check on") {
  const Tensor x = randn({3, 4}, 430, DType::f32), bad = idx64({0, 3}, {2});
  CHECK_FALSE(eng::IndicesVouched::active());
  {
    eng::IndicesVouched outer;
    CHECK(eng::IndicesVouched::active());
    {
      eng::IndicesVouched inner(false);  // does not withdraw an outer vouch
      CHECK(eng::IndicesVouched::active());
    }
    CHECK(eng::IndicesVouched::active());
    CHECK_THROWS_AS(eng::index_select(x, 0, bad), cuttle::Error);  // the CPU checks regardless
  }
  CHECK_FALSE(eng::IndicesVouched::active());
}

}  // TEST_SUITE
