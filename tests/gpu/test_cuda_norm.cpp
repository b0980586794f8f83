// GPU tests (label "gpu"): batch norm (training, eval, fused with ReLU), LayerNorm2d and layer norm over
// the last axis compared with the CPU backend, forward and backward, on odd sizes with poisoned
// outputs; directional f32 gradient checks on the GPU for the fused kernels; ConvBNReLU end to end.
#include <functional>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/norm.h"
#include "autograd/functions/reduce.h"
#include "engine/ops/bias_activation.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/reduce.h"
#include "layers/conv_bn_relu.h"
#include "layers/norm.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

namespace {

// f32: statistics accumulate in double on both sides (different orders); what differs is the final
// rounding to f32 and fused multiply-adds (1-2 ulp), amplified at most a few times by the gradient's
// subtractions: 1e-5 relative to the largest value. f64: the same orders of rounding at 1e-16.
double norm_tol(DType dt) { return dt == DType::f32 ? 1e-5 : 1e-12; }

Tensor gpu_or_none(const Tensor& t) { return t.defined() ? t.to(kGpu) : Tensor(); }

void check_grads(const eng::NormGrads& got, const eng::NormGrads& ref, double tol) {
  const std::pair<const Tensor*, const Tensor*> pairs[] = {
      {&got.input, &ref.input}, {&got.weight, &ref.weight}, {&got.bias, &ref.bias}};
  for (const auto& [g, r] : pairs) {
    CHECK(g->defined() == r->defined());
    if (g->defined() && r->defined()) CHECK(rel_err(*g, *r) <= tol);
  }
}

void check_batch_norm(const Shape& shape, DType dt, bool affine, bool relu, uint64_t seed) {
  const int64_t C = shape[1];
  INFO("batch_norm ", eng::shape_str(shape), " ", eng::dtype_name(dt), affine ? " affine" : "", relu ? " relu" : "");
  const double tol = norm_tol(dt);
  Tensor x = randn(shape, seed, dt);
  x = eng::binary_scalar(eng::BinaryOp::add, eng::binary_scalar(eng::BinaryOp::mul, x, 2.0), 3.0);  // mean 3, std 2
  Tensor w = affine ? randn({C}, seed + 1, dt) : Tensor(), b = affine ? randn({C}, seed + 2, dt) : Tensor();
  Tensor gy = randn(shape, seed + 3, dt);
  auto bn = relu ? eng::batch_norm_relu : eng::batch_norm;
  Poison poison;
  for (bool training : {true, false}) {
    INFO("training ", training);
    Tensor rm = randn({C}, seed + 4, dt), rv = rand_uniform({C}, 0.5, 2.0, seed + 5, dt);
    Tensor rm_g = rm.to(kGpu), rv_g = rv.to(kGpu);
    // Training also takes a running-mean shift (a conv bias the normalisation cancels).
    const Tensor shift = training ? randn({C}, seed + 6, dt) : Tensor();
    eng::BatchNormResult ref = bn(x, w, b, rm, rv, training, 0.1, 1e-5, shift);
    eng::BatchNormResult got =
        bn(x.to(kGpu), gpu_or_none(w), gpu_or_none(b), rm_g, rv_g, training, 0.1, 1e-5, gpu_or_none(shift));
    CHECK(got.output.device() == kGpu);
    CHECK(rel_err(got.output, ref.output) <= tol);
    CHECK(rel_err(got.save_mean, ref.save_mean) <= tol);
    CHECK(rel_err(got.save_invstd, ref.save_invstd) <= tol);
    CHECK(rel_err(rm_g, rm) <= tol);  // running statistics updated in place (training) or untouched (eval)
    CHECK(rel_err(rv_g, rv) <= tol);
    for (eng::NormNeeds needs : {eng::NormNeeds{true, true, true}, eng::NormNeeds{true, false, false},
                                 eng::NormNeeds{false, true, true}}) {
      // The GPU backward reads the CPU's saved statistics so that only the backward kernel is compared.
      eng::NormGrads gref, ggot;
      if (relu) {
        gref = eng::batch_norm_relu_backward(gy, ref.output, x, w, ref.save_mean, ref.save_invstd, training, needs);
        ggot = eng::batch_norm_relu_backward(gy.to(kGpu), ref.output.to(kGpu), x.to(kGpu), gpu_or_none(w),
                                             ref.save_mean.to(kGpu), ref.save_invstd.to(kGpu), training, needs);
      } else {
        gref = eng::batch_norm_backward(gy, x, w, ref.save_mean, ref.save_invstd, training, needs);
        ggot = eng::batch_norm_backward(gy.to(kGpu), x.to(kGpu), gpu_or_none(w), ref.save_mean.to(kGpu),
                                        ref.save_invstd.to(kGpu), training, needs);
      }
      check_grads(ggot, gref, tol);
    }
  }
}

void check_layer_norm2d(const Shape& shape, DType dt, bool affine, uint64_t seed) {
  const int64_t C = shape[1];
  INFO("layer_norm2d ", eng::shape_str(shape), " ", eng::dtype_name(dt), affine ? " affine" : "");
  const double tol = norm_tol(dt);
  Tensor x = eng::binary_scalar(eng::BinaryOp::add, randn(shape, seed, dt), 1.5);
  Tensor w = affine ? randn({C}, seed + 1, dt) : Tensor(), b = affine ? randn({C}, seed + 2, dt) : Tensor();
  Tensor gy = randn(shape, seed + 3, dt);
  Poison poison;
  eng::LayerNormResult ref = eng::layer_norm2d(x, w, b, 1e-6);
  eng::LayerNormResult got = eng::layer_norm2d(x.to(kGpu), gpu_or_none(w), gpu_or_none(b), 1e-6);
  CHECK(rel_err(got.output, ref.output) <= tol);
  CHECK(rel_err(got.mean, ref.mean) <= tol);
  CHECK(rel_err(got.invstd, ref.invstd) <= tol);
  for (eng::NormNeeds needs : {eng::NormNeeds{true, true, true}, eng::NormNeeds{true, false, false},
                               eng::NormNeeds{false, true, true}, eng::NormNeeds{false, false, true}})
    check_grads(eng::layer_norm2d_backward(gy.to(kGpu), x.to(kGpu), gpu_or_none(w), ref.mean.to(kGpu),
                                           ref.invstd.to(kGpu), needs),
                eng::layer_norm2d_backward(gy, x, w, ref.mean, ref.invstd, needs), tol);
}

void check_layer_norm(const Shape& shape, DType dt, bool affine, uint64_t seed) {
  const int64_t D = shape.back();
  INFO("layer_norm ", eng::shape_str(shape), " ", eng::dtype_name(dt), affine ? " affine" : "");
  const double tol = norm_tol(dt);
  Tensor x = eng::binary_scalar(eng::BinaryOp::add, randn(shape, seed, dt), -2.0);
  Tensor w = affine ? randn({D}, seed + 1, dt) : Tensor(), b = affine ? randn({D}, seed + 2, dt) : Tensor();
  Tensor gy = randn(shape, seed + 3, dt);
  Poison poison;
  eng::LayerNormResult ref = eng::layer_norm(x, w, b, 1e-5);
  eng::LayerNormResult got = eng::layer_norm(x.to(kGpu), gpu_or_none(w), gpu_or_none(b), 1e-5);
  CHECK(rel_err(got.output, ref.output) <= tol);
  CHECK(rel_err(got.mean, ref.mean) <= tol);
  CHECK(rel_err(got.invstd, ref.invstd) <= tol);
  for (eng::NormNeeds needs : {eng::NormNeeds{true, true, true}, eng::NormNeeds{true, false, false},
                               eng::NormNeeds{false, true, false}})
    check_grads(eng::layer_norm_backward(gy.to(kGpu), x.to(kGpu), gpu_or_none(w), ref.mean.to(kGpu), ref.invstd.to(kGpu),
                                         needs),
                eng::layer_norm_backward(gy, x, w, ref.mean, ref.invstd, needs), tol);
}

// sum(a * b) in f64, on whichever device a and b live.
double dot(const Tensor& a, const Tensor& b) {
  return eng::sum(eng::mul(a.to(DType::f64), b.to(DType::f64))).to(kCpu).item();
}
Tensor axpy(const Tensor& x, double h, const Tensor& d) {  // x + h d
  return eng::add(x, eng::binary_scalar(eng::BinaryOp::mul, d, h));
}

// Directional check in f32 on the GPU: for L(x, w, b) = sum(f(x, w, b) * v) (summed in f64), the
// analytic dL along (dx, dw, db) must match (L(+h) - L(-h)) / 2h. h = 1e-3: the f32 rounding of the
// forward (~6e-8 per value, summed over a few hundred values) over 2h stays near 1e-4 relative and the
// truncation error is O(h^2); a wrong gradient is off by O(1). Hence the 1e-2 tolerance.
void directional_check(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f,
                       const eng::NormGrads& analytic, const Tensor& x, const Tensor& w, const Tensor& b,
                       const Tensor& v, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const double h = 1e-3;
  const double lp = dot(f(axpy(x, h, dx), axpy(w, h, dw), axpy(b, h, db)), v);
  const double lm = dot(f(axpy(x, -h, dx), axpy(w, -h, dw), axpy(b, -h, db)), v);
  const double numeric = (lp - lm) / (2 * h);
  const double exact = dot(analytic.input, dx) + dot(analytic.weight, dw) + dot(analytic.bias, db);
  INFO("analytic ", exact, " numeric ", numeric);
  CHECK(std::abs(exact - numeric) <= 1e-2 * std::max(1.0, std::abs(numeric)));
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda batch_norm training and eval match the CPU on odd sizes") {
  if (!gpu_present()) return;
  uint64_t seed = 600;
  for (DType dt : {DType::f32, DType::f64})
    // {2,5,4,6} and {3,2,12,11}: rows of a multiple of 4 (and 2) values, the packed apply kernel.
    for (const Shape& s : std::vector<Shape>{{2, 1, 1, 1}, {3, 7, 5, 3}, {2, 33, 7, 1}, {5, 3}, {1, 3, 1, 7},
                                             {2, 5, 4, 6}, {3, 2, 12, 11}})
      for (bool affine : {true, false}) check_batch_norm(s, dt, affine, false, seed += 10);
}

TEST_CASE("sanitize: cuda batch_norm_relu fused matches the CPU on odd sizes") {
  if (!gpu_present()) return;
  uint64_t seed = 700;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : std::vector<Shape>{{2, 1, 1, 1}, {3, 7, 5, 3}, {2, 33, 7, 1}, {2, 5, 4, 6}})
      for (bool affine : {true, false}) check_batch_norm(s, dt, affine, true, seed += 10);
}

TEST_CASE("cuda batch_norm matches the CPU where rows span several reduction items") {
  if (!gpu_present()) return;
  // 91 x 91 = 8281 values per row: more than one 8192-value item per row; 3 x 3 rows: several rows per item.
  check_batch_norm({2, 3, 91, 91}, DType::f32, true, false, 800);
  check_batch_norm({2, 3, 91, 91}, DType::f32, true, true, 810);
  check_batch_norm({1000, 5, 3, 3}, DType::f32, true, true, 820);
}

TEST_CASE("sanitize: cuda layer_norm2d forward and backward match the CPU on odd sizes") {
  if (!gpu_present()) return;
  uint64_t seed = 900;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : std::vector<Shape>{{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 33, 7, 9}, {2, 7, 33, 3}, {1, 9, 1, 1}})
      for (bool affine : {true, false}) check_layer_norm2d(s, dt, affine, seed += 10);
}

TEST_CASE("cuda layer_norm2d backward matches the CPU when blocks take several tiles") {
  if (!gpu_present()) return;
  // 4 x 120 x 100 pixels = 1500 tiles of 32 > the 1024 backward blocks.
  check_layer_norm2d({4, 8, 120, 100}, DType::f32, true, 1000);
  check_layer_norm2d({2, 64, 44, 44}, DType::f32, true, 1010);
}

TEST_CASE("sanitize: cuda layer_norm over the last axis matches the CPU on odd sizes") {
  if (!gpu_present()) return;
  uint64_t seed = 1100;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : std::vector<Shape>{{1, 1}, {3, 7}, {5, 33}, {2, 3, 65}, {600, 33}, {4, 1000}, {7}})
      for (bool affine : {true, false}) check_layer_norm(s, dt, affine, seed += 10);
}

TEST_CASE("sanitize: cuda norms of empty inputs") {
  if (!gpu_present()) return;
  Poison poison;
  Tensor w = Tensor::ones({3}, DType::f32, kGpu), b = Tensor::zeros({3}, DType::f32, kGpu);
  Tensor rm = Tensor::zeros({3}, DType::f32, kGpu), rv = Tensor::ones({3}, DType::f32, kGpu);
  eng::BatchNormResult r = eng::batch_norm(Tensor::empty({0, 3, 4, 4}, DType::f32, kGpu), w, b, rm, rv, false);
  CHECK(r.output.numel() == 0);
  CHECK(rel_err(r.save_invstd, eng::batch_norm(Tensor::empty({0, 3, 4, 4}, DType::f32), w.to(kCpu), b.to(kCpu),
                                               rm.to(kCpu), rv.to(kCpu), false).save_invstd) <= 1e-6);
  CHECK_THROWS_AS(eng::batch_norm(Tensor::empty({1, 3, 1, 1}, DType::f32, kGpu), w, b, rm, rv, true), cuttle::Error);
  eng::LayerNormResult l = eng::layer_norm2d(Tensor::empty({0, 3, 4, 4}, DType::f32, kGpu), w, b);
  CHECK(l.output.numel() == 0);
  eng::NormGrads g = eng::layer_norm2d_backward(Tensor::empty({0, 3, 4, 4}, DType::f32, kGpu),
                                                Tensor::empty({0, 3, 4, 4}, DType::f32, kGpu), w, l.mean, l.invstd);
  CHECK(rel_err(g.weight, Tensor::zeros({3}, DType::f32)) == 0);
  CHECK(rel_err(g.bias, Tensor::zeros({3}, DType::f32)) == 0);
  eng::LayerNormResult l1 = eng::layer_norm(Tensor::empty({0, 3}, DType::f32, kGpu), w, b);
  CHECK(l1.output.numel() == 0);
}

TEST_CASE("sanitize: cuda batch_norm_relu gradient passes a directional check in f32") {
  if (!gpu_present()) return;
  const Shape shape = {4, 3, 5, 7};
  Tensor x = randn(shape, 1200, DType::f32).to(kGpu), w = randn({3}, 1201, DType::f32).to(kGpu),
         b = randn({3}, 1202, DType::f32).to(kGpu), v = randn(shape, 1203, DType::f32).to(kGpu);
  auto f = [](const Tensor& x_, const Tensor& w_, const Tensor& b_) {
    return eng::batch_norm_relu(x_, w_, b_, Tensor(), Tensor(), true).output;
  };
  eng::BatchNormResult r = eng::batch_norm_relu(x, w, b, Tensor(), Tensor(), true);
  eng::NormGrads g = eng::batch_norm_relu_backward(v, r.output, x, w, r.save_mean, r.save_invstd, true);
  // The direction is zero on values whose pre-activation lies within 0.05 of the ReLU's kink (a step of
  // h = 1e-3 moves a pre-activation by less than that), so no value crosses it.
  Tensor z = eng::batch_norm(x, w, b, Tensor(), Tensor(), true).output;
  Tensor away = eng::compare_scalar(eng::CompareOp::gt, eng::unary(eng::UnaryOp::abs, z), 0.05).to(DType::f32);
  Tensor dx = eng::mul(rand_uniform(shape, -1, 1, 1204, DType::f32).to(kGpu), away);
  directional_check(f, g, x, w, b, v, dx, rand_uniform({3}, -1, 1, 1205, DType::f32).to(kGpu),
                    rand_uniform({3}, -1, 1, 1206, DType::f32).to(kGpu));
}

TEST_CASE("sanitize: cuda layer_norm2d gradient passes a directional check in f32") {
  if (!gpu_present()) return;
  const Shape shape = {2, 6, 5, 9};
  Tensor x = randn(shape, 1300, DType::f32).to(kGpu), w = randn({6}, 1301, DType::f32).to(kGpu),
         b = randn({6}, 1302, DType::f32).to(kGpu), v = randn(shape, 1303, DType::f32).to(kGpu);
  auto f = [](const Tensor& x_, const Tensor& w_, const Tensor& b_) { return eng::layer_norm2d(x_, w_, b_).output; };
  eng::LayerNormResult r = eng::layer_norm2d(x, w, b);
  eng::NormGrads g = eng::layer_norm2d_backward(v, x, w, r.mean, r.invstd);
  directional_check(f, g, x, w, b, v, rand_uniform(shape, -1, 1, 1304, DType::f32).to(kGpu),
                    rand_uniform({6}, -1, 1, 1305, DType::f32).to(kGpu), rand_uniform({6}, -1, 1, 1306, DType::f32).to(kGpu));
}

TEST_CASE("ConvBNReLU trains on the GPU as on the CPU") {
  if (!gpu_present()) return;
  auto run = [](eng::Device d) {
    eng::Generator gen(1400);
    layers::Conv2dOptions opts = layers::Conv2dOptions::same(3);
    layers::ConvBNReLU block(3, 8, 3, gen, opts);
    block.to(d);
    block.train();
    autograd::Var x(randn({2, 3, 9, 7}, 1401, DType::f32).to(d), true);
    autograd::Var y = block.forward(x);
    autograd::sum(autograd::mul(y, autograd::Var(randn({2, 8, 9, 7}, 1402, DType::f32).to(d)))).backward();
    return std::vector<Tensor>{y.data(), x.grad(), block.conv->weight.grad(), block.bn->weight.grad(),
                               block.bn->running_mean(), block.bn->running_var()};
  };
  const std::vector<Tensor> cpu = run(kCpu), gpu = run(kGpu);
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("tensor ", i);
    CHECK(rel_err(gpu[i], cpu[i]) <= 1e-4);  // conv (cuDNN algorithms, see test_cuda_conv.cpp) then BN
  }
}

}

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda bias_activation matches the CPU forward and backward") {
  if (!gpu_present()) return;
  Poison poison;
  using U = eng::UnaryOp;
  // Packed and unpacked rows (H*W a multiple of 4 or not), one-pixel planes, long rows that span
  // several reduction items (8192 values), f32 and f64. f32: the CPU's and CUDA's erff/expf differ by a
  // few ulp; the bias gradient sums in double on both sides.
  const std::vector<Shape> shapes = {{2, 3, 4, 4}, {3, 5, 3, 7}, {4, 2, 1, 1}, {2, 3, 96, 100}};
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : shapes)
      for (U op : {U::relu, U::gelu, U::sigmoid, U::tanh, U::softplus, U::elu}) {
        INFO(eng::dtype_name(dt), " ", eng::shape_str(s), " ", eng::unary_op_name(op));
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        const Tensor x = randn(s, 630, dt), b = randn({s[1]}, 631, dt), g = randn(s, 632, dt);
        CHECK(rel_err(eng::bias_activation(x.to(kGpu), b.to(kGpu), op, 0.7), eng::bias_activation(x, b, op, 0.7)) <= tol);
        const eng::BiasActivationGrads want = eng::bias_activation_backward(g, x, b, op, 0.7, true);
        const eng::BiasActivationGrads got =
            eng::bias_activation_backward(strided_on_gpu(g), x.to(kGpu), b.to(kGpu), op, 0.7, true);
        CHECK(rel_err(got.x, want.x) <= tol * 10);
        CHECK(rel_err(got.bias, want.bias) <= tol * 10);
        const eng::BiasActivationGrads no_bias = eng::bias_activation_backward(g.to(kGpu), x.to(kGpu), b.to(kGpu), op,
                                                                               0.7, false);
        CHECK_FALSE(no_bias.bias.defined());
        CHECK(rel_err(no_bias.x, want.x) <= tol * 10);
      }
}

TEST_CASE("BatchNorm2d keeps num_batches_tracked in host memory on the GPU and counts every training step") {
  if (!gpu_present()) return;
  // The counter is a host buffer: no kernel per step; it still saves and loads with the state.
  layers::BatchNorm2d bn(3);
  bn.to(kGpu);
  CHECK(bn.running_mean().device() == kGpu);
  CHECK(bn.num_batches_tracked().device().is_cpu());
  bn.train();
  for (int i = 0; i < 3; ++i) bn.forward(autograd::Var(randn({2, 3, 4, 4}, 770 + i, DType::f32).to(kGpu)));
  CHECK(bn.num_batches_tracked().item() == 3);
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : bn.state_dict()) state[name] = t.to(kCpu);
  layers::BatchNorm2d other(3);
  other.to(kGpu);
  other.load_state_dict(state, true, "test state");
  CHECK(other.num_batches_tracked().item() == 3);
  CHECK(other.num_batches_tracked().device().is_cpu());
  CHECK(same(other.running_var(), bn.running_var()));
}

}


#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/channel_reduce_mode.h"
#include "engine/ops/conv.h"

TEST_SUITE("gpu") {

TEST_CASE("sanitize: the one-launch channel reduction gives the two launches' bits, run after run") {
  if (!gpu_present()) return;
  namespace cu = eng::cuda;
  const bool before = cu::channel_reduce_one_launch();
  // Channels of several 8192-value items: rows longer than an item, several rows per item, many channels.
  for (const Shape& s : std::vector<Shape>{{2, 3, 91, 91}, {1000, 5, 3, 3}, {4, 70, 48, 48}}) {
    INFO("shape ", eng::shape_str(s));
    const int64_t C = s[1];
    const Tensor x = randn(s, 900, DType::f32).to(kGpu), gy = randn(s, 901, DType::f32).to(kGpu);
    const Tensor w = randn({C}, 902, DType::f32).to(kGpu), b = randn({C}, 903, DType::f32).to(kGpu);
    auto run = [&](bool one_launch) {
      cu::set_channel_reduce_one_launch(one_launch);
      Tensor rm = Tensor::zeros({C}, DType::f32, kGpu), rv = Tensor::ones({C}, DType::f32, kGpu);
      eng::BatchNormResult r = eng::batch_norm_relu(x, w, b, rm, rv, true, 0.1, 1e-5, Tensor());
      eng::NormGrads g = eng::batch_norm_relu_backward(gy, r.output, x, w, r.save_mean, r.save_invstd, true,
                                                       eng::NormNeeds{true, true, true});
      return std::vector<Tensor>{r.output, r.save_mean, r.save_invstd, rm, rv, g.input, g.weight, g.bias,
                                 eng::conv2d_backward_bias(gy)};
    };
    const std::vector<Tensor> two = run(false), one = run(true), again = run(true);
    for (size_t i = 0; i < two.size(); ++i) {
      CAPTURE(i);
      CHECK(same(one[i], two[i]));
      CHECK(same(again[i], one[i]));  // the arrival counters were left at zero
    }
  }
  cu::set_channel_reduce_one_launch(before);
}

}  // TEST_SUITE
#endif
