// Tests of the conv2d kernels (forward and the three backward kernels) against a direct 7-loop
// convolution and its hand-derived gradients.
#include <string>

#include "engine/ops/conv.h"
#include "engine/parallel.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;
using eng::Conv2dParams;

namespace {

struct NaiveConv {
  Shape xs, ws, ys;
  Conv2dParams p;
  // Calls fn(y_index, x_index, w_index) for every multiply-add of the convolution.
  template <typename Fn>
  void taps(const Fn& fn) const {
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], Cg = ws[1], kh = ws[2], kw = ws[3];
    const int64_t OH = ys[2], OW = ys[3], Og = O / p.groups;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow)
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t i = 0; i < kh; ++i)
                for (int64_t j = 0; j < kw; ++j) {
                  const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
                  const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const int64_t ci = o / Og * Cg + c;
                  fn(((n * O + o) * OH + oh) * OW + ow, ((n * C + ci) * H + ih) * W + iw, ((o * Cg + c) * kh + i) * kw + j);
                }
  }
};

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dParams p;
  bool bias;
};

void check_conv_case(const ConvCase& cc) {
  INFO(cc.name);
  Tensor x = randn(cc.x, 1), w = randn(cc.w, 2);
  Tensor b = cc.bias ? randn({cc.w[0]}, 3) : Tensor();
  Tensor y = eng::conv2d(x, w, b, cc.p);
  NaiveConv nc{cc.x, cc.w, eng::conv2d_output_shape(cc.x, cc.w, cc.p), cc.p};
  REQUIRE(y.shape() == nc.ys);
  const int64_t OHW = nc.ys[2] * nc.ys[3];
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), ref(y.numel(), 0.0);
  if (cc.bias) {
    std::vector<double> bv = b.to_vector<double>();
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = bv[i / OHW % cc.w[0]];
  }
  nc.taps([&](int64_t yi, int64_t xi, int64_t wi) { ref[yi] += xv[xi] * wv[wi]; });
  check_close(y, Tensor::from_vector(ref, nc.ys), 1e-12);

  // Gradients for a random dL/dy.
  Tensor gy = randn(nc.ys, 4);
  std::vector<double> gyv = gy.to_vector<double>(), gx(x.numel(), 0.0), gw(w.numel(), 0.0), gb(cc.w[0], 0.0);
  nc.taps([&](int64_t yi, int64_t xi, int64_t wi) {
    gx[xi] += gyv[yi] * wv[wi];
    gw[wi] += gyv[yi] * xv[xi];
  });
  for (size_t i = 0; i < gyv.size(); ++i) gb[i / OHW % cc.w[0]] += gyv[i];
  check_close(eng::conv2d_backward_input(gy, w, cc.x, cc.p), Tensor::from_vector(gx, cc.x), 1e-12);
  check_close(eng::conv2d_backward_weight(gy, x, cc.w, cc.p), Tensor::from_vector(gw, cc.w), 1e-12);
  check_close(eng::conv2d_backward_bias(gy), Tensor::from_vector(gb, {cc.w[0]}), 1e-12);

  // float32 agrees with float64.
  Tensor y32 = eng::conv2d(x.to(DType::f32), w.to(DType::f32), cc.bias ? b.to(DType::f32) : Tensor(), cc.p);
  CHECK(y32.dtype() == DType::f32);
  check_close(y32.to(DType::f64), y, 1e-5);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cuttle::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("conv2d matches a direct convolution") {
  const ConvCase cases[] = {
      {"plain 3x3 pad 1", {2, 3, 5, 6}, {4, 3, 3, 3}, {1, 1, 1, 1, 1, 1, 1}, false},
      {"stride 2 with bias", {2, 3, 7, 6}, {4, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}, true},
      {"dilation 2", {1, 2, 9, 8}, {3, 2, 3, 3}, {1, 1, 2, 2, 2, 2, 1}, false},
      {"groups 2, odd sizes", {2, 4, 7, 5}, {6, 2, 3, 3}, {1, 2, 1, 0, 1, 1, 2}, true},
      {"depthwise", {2, 3, 6, 7}, {3, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 3}, true},
      {"depthwise multiplier 2, stride 2, 5x5", {1, 3, 9, 8}, {6, 1, 5, 5}, {2, 2, 2, 2, 1, 1, 3}, false},
      {"depthwise dilated", {1, 4, 8, 8}, {4, 1, 3, 3}, {1, 1, 2, 2, 2, 2, 4}, false},
      {"1x1", {2, 5, 4, 3}, {3, 5, 1, 1}, {}, true},
      {"1x1 stride 2", {2, 5, 5, 5}, {3, 5, 1, 1}, {2, 2, 0, 0, 1, 1, 1}, false},
      {"non-square kernel, asymmetric padding", {2, 3, 6, 7}, {2, 3, 2, 5}, {1, 2, 1, 2, 1, 1, 1}, true},
      {"padding larger than the kernel reach", {1, 2, 3, 3}, {2, 2, 2, 2}, {1, 1, 2, 2, 1, 1, 1}, false},
      {"kernel as large as the input", {1, 2, 4, 5}, {3, 2, 4, 5}, {}, true},
      {"deep channels (several depth slices)", {1, 40, 5, 5}, {3, 40, 2, 2}, {1, 1, 0, 0, 1, 1, 1}, false},
  };
  for (const ConvCase& cc : cases) check_conv_case(cc);
}

TEST_CASE("conv2d over several row bands matches a direct convolution") {
  // A batch splits each sample into bands of output rows (about 96K im2col elements each): depth
  // 12*3*3 = 108 at width 120 gives 7-row bands, so 33 output rows end in a partial band, and taps
  // of neighbouring bands overlap in the input gradient.
  const ConvCase cases[] = {
      {"3x3 pad 1, 33 rows", {2, 12, 33, 120}, {5, 12, 3, 3}, {1, 1, 1, 1, 1, 1, 1}, true},
      {"stride 2", {2, 12, 67, 240}, {4, 12, 3, 3}, {2, 2, 1, 1, 1, 1, 1}, false},
      {"dilation 4", {2, 12, 30, 120}, {3, 12, 3, 3}, {1, 1, 4, 4, 4, 4, 1}, false},
      {"groups 2", {2, 24, 20, 120}, {4, 12, 3, 3}, {1, 1, 1, 1, 1, 1, 2}, true},
  };
  for (const ConvCase& cc : cases) check_conv_case(cc);
}

TEST_CASE("conv2d output size and validation messages") {
  CHECK(eng::conv2d_output_shape({1, 3, 10, 11}, {8, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}) == Shape{1, 8, 5, 6});
  CHECK(eng::conv2d_output_shape({1, 3, 10, 10}, {8, 3, 3, 3}, {1, 1, 4, 4, 4, 4, 1}) == Shape{1, 8, 10, 10});
  std::string msg = error_of([] { eng::conv2d(Tensor::zeros({1, 3, 5, 5}), Tensor::zeros({2, 4, 3, 3}), Tensor(), {}); });
  CHECK(msg.find("conv2d: input [1,3,5,5] has 3 channels, weight [2,4,3,3] expects 4 (groups 1)") != std::string::npos);
  CHECK_THROWS_AS(eng::conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({3, 2, 3, 3}), Tensor(), {1, 1, 0, 0, 1, 1, 2}),
                  cuttle::Error);  // 3 outputs, 2 groups
  CHECK_THROWS_AS(eng::conv2d(Tensor::zeros({1, 2, 2, 2}), Tensor::zeros({1, 2, 3, 3}), Tensor(), {}), cuttle::Error);
  CHECK_THROWS_AS(eng::conv2d(Tensor::zeros({1, 2, 5, 5}), Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({2}), {}),
                  cuttle::Error);
  CHECK_THROWS_AS(eng::conv2d(Tensor::zeros({2, 5, 5}), Tensor::zeros({1, 2, 3, 3}), Tensor(), {}), cuttle::Error);
  CHECK_THROWS_AS(eng::conv2d(Tensor::zeros({1, 2, 5, 5}), Tensor::zeros({1, 2, 3, 3}), Tensor(), {0, 1, 0, 0, 1, 1, 1}),
                  cuttle::Error);
}

TEST_CASE("conv2d results do not depend on the thread count") {
  // Depth 64*3*3 = 576 and 32x32 pixels. Batch 1 takes the path that tiles each GEMM over the threads;
  // batches 2 and 5 split whole samples over them (5: uneven shares, and weight-gradient parts of
  // unequal size).
  for (int64_t batch : {1, 2, 5}) {
    CAPTURE(batch);
    Tensor x = randn({batch, 64, 32, 32}, 5, DType::f32), w = randn({32, 64, 3, 3}, 6, DType::f32);
    const Conv2dParams p{1, 1, 1, 1, 1, 1, 1};
    auto run = [&] {
      Tensor y = eng::conv2d(x, w, Tensor(), p);
      return std::vector<Tensor>{y, eng::conv2d_backward_input(y, w, x.shape(), p),
                                 eng::conv2d_backward_weight(y, x, w.shape(), p)};
    };
    const int saved = eng::num_threads();
    eng::set_num_threads(1);
    std::vector<Tensor> one = run();
    for (int threads : {2, 3}) {
      eng::set_num_threads(threads);
      std::vector<Tensor> many = run();
      for (size_t i = 0; i < one.size(); ++i) CHECK(one[i].to_vector<float>() == many[i].to_vector<float>());
    }
    eng::set_num_threads(saved);
  }
}

}
