// Tests of concat, split, chunk, stack and pad (three modes) and pad's backward.
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/parallel.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;
using eng::PadMode;

namespace {
Tensor iota(const Shape& s) { return Tensor::arange(eng::shape_numel(s)).to(DType::f32).reshape(s); }
std::vector<float> fv(const Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST_SUITE("engine") {

TEST_CASE("concat and split round-trip on every axis") {
  Tensor x = randn({3, 4, 5}, 1);
  for (int a = 0; a < 3; ++a) {
    CAPTURE(a);
    std::vector<int64_t> sizes = {1, x.size(a) - 1};
    std::vector<Tensor> parts = eng::split(x, sizes, a);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].shares_storage(x));  // views
    CHECK(parts[1].size(a) == x.size(a) - 1);
    CHECK(eng::concat(parts, a).to_vector<double>() == x.to_vector<double>());
  }
  Tensor a = iota({2, 2}), b = eng::binary_scalar(eng::BinaryOp::add, iota({2, 1}), 10);
  CHECK(fv(eng::concat({a, b}, 1)) == std::vector<float>{0, 1, 10, 2, 3, 11});
  CHECK(fv(eng::concat({a, a}, -2)) == std::vector<float>{0, 1, 2, 3, 0, 1, 2, 3});
  CHECK(fv(eng::concat({a, Tensor::zeros({2, 0})}, 1)) == fv(a));
  CHECK_THROWS_AS(eng::concat({a, b}, 0), cuttle::Error);
  CHECK_THROWS_AS(eng::concat({a, b.to(DType::f64)}, 1), cuttle::Error);
  CHECK_THROWS_AS(eng::split(x, {1, 1}, 0), cuttle::Error);
  // Any dtype.
  Tensor u = Tensor::from_vector<uint8_t>({1, 2}, {2});
  CHECK(eng::concat({u, u}, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 1, 2});
}

TEST_CASE("chunk follows torch.chunk sizes") {
  Tensor x = iota({7, 2});
  std::vector<Tensor> c = eng::chunk(x, 3, 0);
  REQUIRE(c.size() == 3);
  CHECK(c[0].size(0) == 3);
  CHECK(c[2].size(0) == 1);
  CHECK(fv(c[2]) == std::vector<float>{12, 13});
  CHECK(eng::chunk(iota({6}), 4, 0).size() == 3);  // pieces of 2: only three
  CHECK(eng::chunk(iota({2}), 5, 0).size() == 2);
}

TEST_CASE("stack inserts a new axis") {
  Tensor a = iota({2, 3}), b = eng::binary_scalar(eng::BinaryOp::add, iota({2, 3}), 100);
  Tensor s0 = eng::stack({a, b}, 0), s2 = eng::stack({a, b}, -1);
  CHECK(s0.shape() == Shape{2, 2, 3});
  CHECK(s2.shape() == Shape{2, 3, 2});
  CHECK(fv(s0.select(0, 1)) == fv(b));
  CHECK(fv(s2.select(2, 0).contiguous()) == fv(a));
  CHECK(fv(eng::stack({a, b}, 1).select(1, 1).contiguous()) == fv(b));
  CHECK_THROWS_AS(eng::stack({a, iota({3, 2})}, 0), cuttle::Error);
}

TEST_CASE("pad constant on several axes, torch order") {
  Tensor x = iota({1, 2, 2});
  Tensor p = eng::pad(x, {1, 0, 0, 1}, PadMode::constant, -1);  // left 1 on the last axis, bottom 1
  REQUIRE(p.shape() == Shape{1, 3, 3});
  CHECK(fv(p) == std::vector<float>{-1, 0, 1, -1, 2, 3, -1, -1, -1});
  Tensor q = eng::pad(x, {0, 0, 0, 0, 1, 1});
  CHECK(q.shape() == Shape{3, 2, 2});
  CHECK(fv(q) == std::vector<float>{0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0});
  CHECK(fv(eng::pad_backward(p, x.shape(), {1, 0, 0, 1}, PadMode::constant)) == fv(x));
  CHECK_THROWS_AS(eng::pad(x, {1}), cuttle::Error);
  CHECK_THROWS_AS(eng::pad(x, {-1, 0}), cuttle::Error);
}

TEST_CASE("pad reflect and replicate on the last two axes") {
  Tensor x = iota({1, 3, 3});  // rows {0 1 2}, {3 4 5}, {6 7 8}
  Tensor r = eng::pad(x, {2, 1, 1, 0}, PadMode::reflect);
  REQUIRE(r.shape() == Shape{1, 4, 6});
  CHECK(fv(r) == std::vector<float>{5, 4, 3, 4, 5, 4,  //
                                    2, 1, 0, 1, 2, 1,  //
                                    5, 4, 3, 4, 5, 4,  //
                                    8, 7, 6, 7, 8, 7});
  Tensor e = eng::pad(x, {2, 1, 1, 0}, PadMode::replicate);
  CHECK(fv(e) == std::vector<float>{0, 0, 0, 1, 2, 2,  //
                                    0, 0, 0, 1, 2, 2,  //
                                    3, 3, 3, 4, 5, 5,  //
                                    6, 6, 6, 7, 8, 8});
  Tensor r1 = eng::pad(iota({4}), {3, 2}, PadMode::reflect);
  CHECK(fv(r1) == std::vector<float>{3, 2, 1, 0, 1, 2, 3, 2, 1});
  CHECK(fv(eng::pad(iota({2}), {1, 1}, PadMode::replicate)) == std::vector<float>{0, 0, 1, 1});
  CHECK_THROWS_AS(eng::pad(x, {3, 0}, PadMode::reflect), cuttle::Error);
  CHECK_THROWS_AS(eng::pad(x, {1, 1, 1, 1, 1, 1}, PadMode::replicate), cuttle::Error);
  // Backward adds every copy into its source.
  Tensor g = Tensor::ones({1, 4, 6});
  CHECK(fv(eng::pad_backward(g, x.shape(), {2, 1, 1, 0}, PadMode::replicate)) ==
        std::vector<float>{6, 2, 4, 3, 1, 2, 3, 1, 2});
  CHECK(fv(eng::pad_backward(g, x.shape(), {2, 1, 1, 0}, PadMode::reflect)) ==
        std::vector<float>{1, 3, 2, 2, 6, 4, 1, 3, 2});
}

TEST_CASE("pad and its backward give identical results with 1 and 2 threads") {
  const int saved = eng::num_threads();
  Tensor x = randn({8, 16, 40, 40}, 20, DType::f32), g = randn({8, 16, 43, 45}, 21, DType::f32);
  const std::vector<int64_t> pads = {2, 3, 1, 2};
  std::vector<std::vector<float>> r1, r2;
  for (auto* r : {&r1, &r2}) {
    eng::set_num_threads(r == &r1 ? 1 : 2);
    for (PadMode m : {PadMode::constant, PadMode::reflect, PadMode::replicate}) {
      r->push_back(fv(eng::pad(x, pads, m)));
      r->push_back(fv(eng::pad_backward(g, x.shape(), pads, m)));
    }
  }
  eng::set_num_threads(saved);
  CHECK(r1 == r2);
}

}  // TEST_SUITE
