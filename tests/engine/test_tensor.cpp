// Tests of Tensor: factories, views (reshape, permute, slice, expand), copies and dtype conversion.
#include "tests/test_util.h"
#include "engine/parallel.h"
#include <algorithm>

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("engine") {

TEST_CASE("tensor factories and metadata") {
  Tensor t = Tensor::zeros({2, 3, 4});
  CHECK(t.numel() == 24);
  CHECK(t.dim() == 3);
  CHECK(t.size(-1) == 4);
  CHECK(t.is_contiguous());
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(Tensor::full({2}, 2.5).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  CHECK(Tensor::arange(4).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(Tensor::scalar(3.0).item() == 3.0);
  CHECK_THROWS_AS(t.item(), cuttle::Error);
  CHECK_THROWS_AS(t.data<double>(), cuttle::Error);
  CHECK_THROWS_AS(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), cuttle::Error);
}

TEST_CASE("views share storage and index correctly") {
  Tensor t = Tensor::arange(24, DType::f32).view({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(!p.is_contiguous());
  CHECK(p.shares_storage(t));
  // p[i][j][k] = t[j][k][i] = 12 j + 4 k + i
  std::vector<float> pv = p.to_vector<float>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) CHECK(pv[i * 6 + j * 3 + k] == float(12 * j + 4 * k + i));
  Tensor s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.to_vector<float>()[1] == 3.0f);
  CHECK(s.to_vector<float>()[2] == 5.0f);
  Tensor sel = t.select(1, 2);
  CHECK(sel.shape() == Shape{2, 4});
  CHECK(sel.to_vector<float>()[0] == 8.0f);
  CHECK(t.reshape({6, -1}).shape() == Shape{6, 4});
  CHECK_THROWS_AS(t.reshape({5, -1}), cuttle::Error);
  CHECK_THROWS_AS(p.view({24}), cuttle::Error);
  CHECK(p.reshape({24}).to_vector<float>() == pv);
  CHECK(t.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(t.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(t.unsqueeze(0).squeeze(0).shape() == t.shape());
  CHECK(t.flatten(1).shape() == Shape{2, 12});
}

TEST_CASE("expand broadcasts with zero strides and copy_ writes through views") {
  Tensor row = Tensor::from_vector<float>({1, 2, 3}, {1, 3});
  Tensor e = row.expand({4, 3});
  CHECK(e.strides()[0] == 0);
  CHECK(e.contiguous().to_vector<float>() == std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  Tensor z = Tensor::zeros({3, 3});
  z.slice(0, 1, 2).copy_(row);
  CHECK(z.to_vector<float>() == std::vector<float>{0, 0, 0, 1, 2, 3, 0, 0, 0});
  z.transpose(0, 1).slice(0, 0, 1).fill_(7);  // column 0
  CHECK(z.to_vector<float>() == std::vector<float>{7, 0, 0, 7, 2, 3, 7, 0, 0});
}

TEST_CASE("a device this build cannot serve is a clear error") {
#ifndef CUTTLE_WITH_CUDA
  try {
    Tensor::empty({2}, DType::f32, engine::Device::cuda(0));
    FAIL("expected an error");
  } catch (const cuttle::Error& e) {
    CHECK(std::string(e.what()).find("cuda:0") != std::string::npos);
  }
  CHECK_THROWS_AS(Tensor::ones({2}).to(engine::Device::cuda(0)), cuttle::Error);
#endif
}

TEST_CASE("dtype conversion") {
  Tensor f = Tensor::from_vector<float>({-1.5f, 0.0f, 2.7f}, {3});
  CHECK(f.to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{-1, 0, 2});
  CHECK(f.to(DType::boolean).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(f.to(DType::f64).dtype() == DType::f64);
  Tensor u = Tensor::from_vector<uint8_t>({0, 128, 255}, {3});
  CHECK(u.to(DType::f32).to_vector<float>() == std::vector<float>{0, 128, 255});
}

TEST_CASE("seeded random draws are reproducible and well distributed") {
  engine::Generator g1(7), g2(7), g3(8);
  Tensor a = engine::normal({10000}, 0, 1, DType::f64, &g1);
  Tensor b = engine::normal({10000}, 0, 1, DType::f64, &g2);
  Tensor c = engine::normal({10000}, 0, 1, DType::f64, &g3);
  CHECK(a.to_vector<double>() == b.to_vector<double>());
  CHECK(a.to_vector<double>() != c.to_vector<double>());
  double m = 0, v = 0;
  for (double x : a.to_vector<double>()) m += x;
  m /= 10000;
  for (double x : a.to_vector<double>()) v += (x - m) * (x - m);
  v /= 10000;
  CHECK(std::abs(m) < 0.05);
  CHECK(std::abs(v - 1) < 0.05);
  // Consecutive draws continue the stream rather than repeat it.
  Tensor d = engine::uniform({4}, 0, 1, DType::f64, &g1);
  Tensor e = engine::uniform({4}, 0, 1, DType::f64, &g2);
  CHECK(d.to_vector<double>() == e.to_vector<double>());
  Tensor bern = engine::bernoulli({10000}, 0.3, DType::f64, &g3);
  double ones = 0;
  for (double x : bern.to_vector<double>()) ones += x;
  CHECK(std::abs(ones / 10000 - 0.3) < 0.02);
  Tensor perm = engine::randperm(50, &g3);
  std::vector<int64_t> pv = perm.to_vector<int64_t>();
  std::sort(pv.begin(), pv.end());
  for (int i = 0; i < 50; ++i) CHECK(pv[i] == i);
}

TEST_CASE("results do not depend on the thread count") {
  engine::Generator g(3);
  const int saved = engine::num_threads();
  engine::set_num_threads(1);
  Tensor a = engine::normal({200000}, 0, 1, DType::f32, &g);
  engine::set_num_threads(2);
  g.set_state(3, 0);
  Tensor b = engine::normal({200000}, 0, 1, DType::f32, &g);
  engine::set_num_threads(saved);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
}

}
