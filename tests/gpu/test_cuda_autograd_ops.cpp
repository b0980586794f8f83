// GPU tests (suite "gpu"): the differentiable functions whose backward runs the new CUDA kernels
// (softmax, fused attention, pooling, resize, indexing, joins, losses) give the CPU's outputs and
// gradients; directional derivative checks on the GPU; and a small module stack (PVTv2 attention,
// pooling, upsampling, linear head) moved with Module::to gives the CPU's outputs and parameter
// gradients.
#include <functional>
#include <memory>

#include "autograd/functions/attention.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/index.h"
#include "autograd/functions/interpolate.h"
#include "autograd/functions/join.h"
#include "autograd/functions/losses.h"
#include "autograd/functions/pool.h"
#include "autograd/functions/reduce.h"
#include "autograd/functions/softmax.h"
#include "autograd/functions/views.h"
#include "autograd/grad_mode.h"
#include "layers/attention.h"
#include "layers/linear.h"
#include "layers/pool.h"
#include "layers/upsample.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;
namespace ag = cuttle::autograd;
using autograd::Var;

namespace {

using Fn = std::function<Var(const std::vector<Var>&, eng::Device)>;

struct Run {
  Tensor out;
  std::vector<Tensor> grads;
};

// f on the inputs placed on `d` (all requiring grad), then backward of sum(f * w) for a fixed w.
Run run_on(eng::Device d, const Fn& f, const std::vector<Tensor>& inputs) {
  std::vector<Var> vs;
  for (const Tensor& t : inputs) vs.emplace_back(t.to(d), true);
  Var y = f(vs, d);
  const Tensor w = randn(y.shape(), 999, y.dtype()).to(d);
  ag::sum(y * Var(w)).backward();
  Run r{y.data().to(kCpu), {}};
  for (const Var& v : vs) {
    REQUIRE(v.grad().defined());
    CHECK(v.grad().device() == d);
    r.grads.push_back(v.grad().to(kCpu));
  }
  return r;
}

void check_same_run(const Fn& f, const std::vector<Tensor>& inputs, double tol) {
  Poison poison;
  const Run cpu = run_on(kCpu, f, inputs), gpu = run_on(kGpu, f, inputs);
  CHECK(rel_err(gpu.out, cpu.out) <= tol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("gradient of input ", i);
    CHECK(rel_err(gpu.grads[i], cpu.grads[i]) <= tol);
  }
}

// d/de sum(f(x + e u) * w) at e = 0 by central differences against the analytic gradient . u, all in
// f64 on the GPU (f64 so the difference quotient itself is accurate to ~1e-9).
void check_directional(const Fn& f, const std::vector<Tensor>& inputs) {
  const Run r = run_on(kGpu, f, inputs);
  eng::Generator gen(4242);
  std::vector<Tensor> dirs;
  double analytic = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    dirs.push_back(eng::normal(inputs[i].shape(), 0, 1, DType::f64, &gen));
    analytic += eng::sum(eng::mul(r.grads[i], dirs[i])).item();
  }
  auto loss_at = [&](double e) {
    ag::NoGradGuard no_grad;
    std::vector<Var> vs;
    for (size_t i = 0; i < inputs.size(); ++i)
      vs.emplace_back(eng::add(inputs[i], eng::binary_scalar(eng::BinaryOp::mul, dirs[i], e)).to(kGpu), false);
    const Var y = f(vs, kGpu);
    const Tensor w = randn(y.shape(), 999, y.dtype()).to(kGpu);
    return eng::sum(eng::mul(y.data(), w)).to(kCpu).item();
  };
  const double eps = 1e-5, numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps);
  INFO("analytic ", analytic, " numeric ", numeric);
  CHECK(std::abs(analytic - numeric) <= 1e-6 * std::max(1.0, std::abs(numeric)));
}

Tensor idx_on(const std::vector<int64_t>& v, eng::Device d) {
  return Tensor::from_vector<int64_t>(v, {(int64_t)v.size()}).to(d);
}

// The functions under test, each returning one Var built from its inputs.
const Fn kSoftmaxes = [](const std::vector<Var>& x, eng::Device) {
  return ag::log_softmax(x[0], 1) + ag::softmax(x[0], 0) * ag::softmax(x[0], -1);
};
const Fn kAttention = [](const std::vector<Var>& x, eng::Device) {
  return ag::scaled_dot_product_attention(x[0], x[1], x[2], 0.4);
};
const Fn kPoolResize = [](const std::vector<Var>& x, eng::Device) {
  Var a = ag::avg_pool2d(x[0], {3, 3}, {1, 1}, {1, 1}, false);
  Var m = ag::max_pool2d(a, {3, 3}, {2, 2}, {1, 1}, true);
  Var up = ag::resize_bilinear(m, 9, 7, false) + ag::resize_bilinear(ag::adaptive_avg_pool2d(x[0], 4, 3), 9, 7, true);
  return up * x[0];
};
const Fn kIndexing = [](const std::vector<Var>& x, eng::Device d) {
  ag::TopKResult t = ag::topk(x[0], 3, 1, true, true);                       // [4, 3]
  Var g = ag::gather(x[0], 1, idx_on({0, 6, 6, 2, 1, 1, 5, 3, 0, 4, 4, 4}, d).reshape({4, 3}));
  Var s = ag::index_select(x[0], 1, idx_on({5, 5, 0}, d));                   // [4, 3]
  Var base = ag::index_add(x[1], 0, idx_on({1, 1, 3, 0}, d), t.values * g);  // [4, 3]
  Var sc = ag::scatter_add(base, 1, idx_on({2, 0, 2, 1, 1, 1, 0, 0, 2, 2, 2, 2}, d).reshape({4, 3}), s);
  return sc + ag::amax(x[0], {1}, true) + ag::var(x[0], {1}, 1, true);
};
const Fn kJoins = [](const std::vector<Var>& x, eng::Device) {
  std::vector<Var> parts = ag::split(x[0], {2, 3}, 2);  // [2, 3, 2, 5] and [2, 3, 3, 5]
  Var c = ag::concat({ag::pad(parts[1], {1, 1, 0, 0}, eng::PadMode::constant, 0.5),
                      ag::pad(parts[0], {1, 1, 0, 1}, eng::PadMode::reflect)},
                     2);                                                   // [2, 3, 6, 7]
  Var q = ag::pad(c, {0, 0, 1, 0}, eng::PadMode::replicate);             // [2, 3, 7, 7]
  Var p = ag::pad(x[0], {2, 0, 1, 1}, eng::PadMode::replicate);          // [2, 3, 7, 7]
  return ag::stack({p, q}, 1);
};
const Fn kLoss = [](const std::vector<Var>& x, eng::Device d) {
  const Tensor target = idx_on({2, 0, 4, 4, 1}, d);
  return ag::reshape(ag::cross_entropy(x[0], target, ag::Reduction::mean), {1}) +
         ag::reshape(ag::clamp(x[0], -0.3, 0.3), {-1});
};

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: autograd functions on the GPU match the CPU in f64") {
  if (!gpu_present()) return;
  // f64 on both sides, differing only in summation orders: agreement to ~1e-13.
  const double tol = 1e-11;
  { INFO("softmax"); check_same_run(kSoftmaxes, {randn({5, 5}, 501)}, tol); }
  { INFO("attention"); check_same_run(kAttention, {randn({2, 3, 9, 4}, 502), randn({2, 3, 6, 4}, 503), randn({2, 3, 6, 5}, 504)}, tol); }
  { INFO("pool and resize"); check_same_run(kPoolResize, {randn({2, 3, 9, 7}, 505)}, tol); }
  { INFO("indexing"); check_same_run(kIndexing, {randn({4, 7}, 506), randn({4, 3}, 507)}, tol); }
  { INFO("joins"); check_same_run(kJoins, {randn({2, 3, 5, 5}, 508)}, tol); }
  { INFO("losses"); check_same_run(kLoss, {randn({5, 6}, 509)}, tol); }
}

TEST_CASE("autograd functions on the GPU match the CPU in f32") {
  if (!gpu_present()) return;
  // f32: cuBLAS and the CPU GEMM accumulate in different orders, exp differs by ulps: 2e-5 relative to
  // the largest value covers the products of these small sizes.
  const double tol = 2e-5;
  auto f32 = [](const Tensor& t) { return t.to(DType::f32); };
  check_same_run(kSoftmaxes, {f32(randn({33, 7}, 511))}, tol);
  check_same_run(kAttention, {f32(randn({2, 2, 49, 8}, 512)), f32(randn({2, 2, 33, 8}, 513)), f32(randn({2, 2, 33, 16}, 514))}, tol);
  check_same_run(kPoolResize, {f32(randn({3, 4, 9, 7}, 515))}, tol);
}

TEST_CASE("attention at the model's sizes on the GPU matches the CPU (88x88 and 44x44 queries)") {
  if (!gpu_present()) return;
  // PVTv2-b2 stage 1 at 352x352: 88x88 = 7744 queries against the 11x11 = 121 reduced keys; stage 2:
  // 44x44 queries, 2 heads. f32: sums over 121 keys (forward) and 7744 queries (dK, dV backward) in
  // different orders on the two sides: 1e-4 relative to each tensor's largest value.
  auto f32 = [](const Tensor& t) { return t.to(DType::f32); };
  { INFO("88x88"); check_same_run(kAttention, {f32(randn({2, 1, 7744, 32}, 531)), f32(randn({2, 1, 121, 32}, 532)), f32(randn({2, 1, 121, 32}, 533))}, 1e-4); }
  { INFO("44x44"); check_same_run(kAttention, {f32(randn({2, 2, 1936, 32}, 534)), f32(randn({2, 2, 121, 32}, 535)), f32(randn({2, 2, 121, 32}, 536))}, 1e-4); }
}

TEST_CASE("directional derivatives of the fused CUDA kernels match finite differences") {
  if (!gpu_present()) return;
  { INFO("softmax"); check_directional(kSoftmaxes, {randn({5, 5}, 521)}); }
  { INFO("attention"); check_directional(kAttention, {randn({2, 3, 9, 4}, 522), randn({2, 3, 6, 4}, 523), randn({2, 3, 6, 5}, 524)}); }
  { INFO("pool and resize"); check_directional(kPoolResize, {randn({2, 3, 9, 7}, 525)}); }
  { INFO("indexing"); check_directional(kIndexing, {randn({4, 7}, 526), randn({4, 3}, 527)}); }
  { INFO("joins"); check_directional(kJoins, {randn({2, 3, 5, 5}, 528)}); }
}

}

namespace {

// Tokens through PVTv2 attention, back to a map, pooled, max-pooled, upsampled, gated by a global pool,
// and a linear head over channels: every op family this backend adds, in one graph.
class TinyStack : public layers::Module {
 public:
  TinyStack(int64_t dim, eng::Generator& gen) : dim_(dim) {
    attn = register_module("attn", std::make_shared<layers::SpatialReductionAttention>(dim, 2, 1, gen));
    layers::Pool2dOptions o;
    o.stride = {1, 1};
    o.padding = {1, 1};
    o.count_include_pad = false;
    pool = register_module("pool", std::make_shared<layers::AvgPool2d>(3, o));
    maxpool = register_module("maxpool", std::make_shared<layers::MaxPool2d>(2));
    up = register_module("up", layers::Upsample::by_scale(2.0));
    gap = register_module("gap", std::make_shared<layers::AdaptiveAvgPool2d>(1));
    head = register_module("head", std::make_shared<layers::Linear>(dim, 3, gen));
  }
  Var forward(const Var& x) {  // x [B, C, H, W], H and W even
    const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Var tokens = ag::permute(ag::reshape(x, {B, C, H * W}), {0, 2, 1});
    Var a = ag::reshape(ag::permute(attn->forward(tokens, H, W), {0, 2, 1}), {B, C, H, W});
    Var u = up->forward(maxpool->forward(pool->forward(a)));
    Var gated = u * ag::unary(eng::UnaryOp::sigmoid, gap->forward(u)) + x;
    Var out = head->forward(ag::permute(gated, {0, 2, 3, 1}));  // [B, H, W, 3]
    return ag::log_softmax(out, -1);
  }
  std::shared_ptr<layers::SpatialReductionAttention> attn;
  std::shared_ptr<layers::AvgPool2d> pool;
  std::shared_ptr<layers::MaxPool2d> maxpool;
  std::shared_ptr<layers::Upsample> up;
  std::shared_ptr<layers::AdaptiveAvgPool2d> gap;
  std::shared_ptr<layers::Linear> head;

 private:
  int64_t dim_;
};

void check_module_stack(DType dt, double tol) {
  Poison poison;
  eng::Generator g1(77), g2(77);
  TinyStack cpu(8, g1), gpu(8, g2);
  cpu.to(dt);
  gpu.to(dt);
  gpu.to(kGpu);
  const Tensor x = randn({2, 8, 6, 10}, 531, dt);
  Var y_cpu = cpu.forward(Var(x, true)), y_gpu = gpu.forward(Var(x.to(kGpu), true));
  CHECK(y_gpu.data().device() == kGpu);
  CHECK(rel_err(y_gpu.data(), y_cpu.data()) <= tol);
  const Tensor w = randn(y_cpu.shape(), 532, dt);
  ag::sum(y_cpu * Var(w)).backward();
  ag::sum(y_gpu * Var(w.to(kGpu))).backward();
  const auto pc = cpu.named_parameters(), pg = gpu.named_parameters();
  REQUIRE(pc.size() == pg.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    INFO("parameter ", pc[i].first);
    REQUIRE(pg[i].second.grad().defined());
    CHECK(pg[i].second.grad().device() == kGpu);
    CHECK(rel_err(pg[i].second.grad(), pc[i].second.grad()) <= tol);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("a module stack moved to the GPU gives the CPU outputs and parameter gradients") {
  if (!gpu_present()) return;
  // f32: GEMM accumulation orders differ between cuBLAS and the CPU; 5e-5 of the largest value.
  { INFO("f32"); check_module_stack(DType::f32, 5e-5); }
  // f64: only summation orders differ.
  { INFO("f64"); check_module_stack(DType::f64, 1e-11); }
}

}
