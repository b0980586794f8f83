// GPU tests (label "gpu") of the training utilities on a device: AdamW and SGD steps, gradient
// clipping and the EMA of weights, each against the same run on the CPU. Parameter lists mix odd
// sizes, an empty tensor, a parameter without a gradient, two groups and more tensors than one
// multi-tensor launch holds. "sanitize: " cases use small shapes for the compute-sanitizer pass.
#include <cmath>
#include <limits>

#include "autograd/optim/adamw.h"
#include "autograd/optim/clip_grad.h"
#include "autograd/optim/sgd.h"
#include "engine/ops/elementwise.h"
#include "layers/container.h"
#include "layers/conv.h"
#include "layers/ema.h"
#include "layers/norm.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
using autograd::ParamGroup;
using autograd::Var;

namespace {

// The same parameters twice: on the CPU and on the GPU.
struct Twin {
  std::vector<Var> cpu, gpu;
};

// 45 parameters (more than one launch's 40): odd sizes, one empty; `big` adds one tensor larger
// than a launch's per-tensor block cap (2M elements) so its blocks wrap.
Twin make_params(DType dt, bool big) {
  std::vector<Shape> shapes = {{1}, {3}, {7, 1}, {33}, {0, 3}, {5, 7, 3}, {1000}, {64, 3, 3, 3}};
  while (shapes.size() < 45) shapes.push_back({(int64_t)shapes.size() % 9 + 1, 17});
  if (big) shapes.push_back({2500000});
  Twin t;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor v = randn(shapes[i], 100 + i, dt);
    t.cpu.emplace_back(v.clone(), true);
    t.gpu.emplace_back(v.to(kGpu), true);
  }
  return t;
}

// Fresh gradients for step `step`; parameter 2 never gets one (skipped, its state must not move).
void set_grads(Twin& t, int step, DType dt) {
  for (size_t i = 0; i < t.cpu.size(); ++i) {
    if (i == 2) continue;
    Tensor g = randn(t.cpu[i].shape(), 1000 * step + i, dt);
    t.cpu[i].set_grad(g);
    t.gpu[i].set_grad(g.to(kGpu));
  }
}

// Splits a list into two groups with different lr multipliers and weight decays.
std::vector<ParamGroup> two_groups(const std::vector<Var>& ps) {
  ParamGroup a, b;
  for (size_t i = 0; i < ps.size(); ++i) (i % 3 == 0 ? b : a).params.push_back(ps[i]);
  b.lr_scale = 0.1;
  b.weight_decay = 0.0;
  return {a, b};
}

double max_param_err(const Twin& t) {
  double m = 0;
  for (size_t i = 0; i < t.cpu.size(); ++i) m = std::max(m, rel_err(t.gpu[i].data(), t.cpu[i].data()));
  return m;
}

double max_state_err(const std::map<std::string, Tensor>& gpu, const std::map<std::string, Tensor>& cpu) {
  if (gpu.size() != cpu.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (const auto& [k, v] : cpu) {
    auto it = gpu.find(k);
    if (it == gpu.end()) return std::numeric_limits<double>::infinity();
    m = std::max(m, rel_err(it->second, v));
  }
  return m;
}

// Both sides evaluate the same double-precision formula (engine/optim_math.h) and round once per
// step; only FMA contraction may differ in the last bits of the double, which can move an f32 result
// by an ulp (6e-8 relative) now and then: 1e-6 bounds a few such ulps over 5 steps. In f64 the
// same effect is ~1e-16 per step: 1e-13.
double tolerance(DType dt) { return dt == DType::f32 ? 1e-6 : 1e-13; }

void check_adamw(DType dt, bool big) {
  Twin t = make_params(dt, big);
  autograd::AdamWOptions o;
  o.lr = 1e-2;
  o.weight_decay = 0.05;
  autograd::AdamW cpu(two_groups(t.cpu), o), gpu(two_groups(t.gpu), o);
  for (int step = 0; step < 5; ++step) {
    set_grads(t, step, dt);
    cpu.step();
    gpu.step();
  }
  CHECK(max_param_err(t) <= tolerance(dt));
  CHECK(max_state_err(gpu.state_dict(), cpu.state_dict()) <= tolerance(dt));
  // Parameter 2 (group 0, index 1) never had a gradient: no state; parameter 1 (group 0, index 0) has.
  CHECK(gpu.state_dict().count("0.0.step") == 1);
  CHECK(gpu.state_dict().count("0.1.step") == 0);
  // Resuming on the GPU from state saved on the CPU (a checkpoint): the state moves to the parameters'
  // device and the next step matches.
  autograd::AdamW resumed(two_groups(t.gpu), o);
  resumed.load_state_dict(cpu.state_dict());
  set_grads(t, 5, dt);
  cpu.step();
  resumed.step();
  CHECK(max_param_err(t) <= tolerance(dt));
  CHECK(resumed.state_dict().at("0.0.exp_avg").device() == kGpu);
}

void check_sgd(DType dt, const autograd::SGDOptions& o) {
  Twin t = make_params(dt, false);
  autograd::SGD cpu(two_groups(t.cpu), o), gpu(two_groups(t.gpu), o);
  for (int step = 0; step < 5; ++step) {
    set_grads(t, step, dt);
    cpu.step();
    gpu.step();
  }
  CHECK(max_param_err(t) <= tolerance(dt));
  CHECK(max_state_err(gpu.state_dict(), cpu.state_dict()) <= tolerance(dt));
}

// Clips both twins (gradients scaled by `gscale` first) and compares norms and gradients.
void check_clip(DType dt, bool big, double gscale, double max_norm) {
  Twin t = make_params(dt, big);
  set_grads(t, 0, dt);
  for (size_t i = 0; i < t.cpu.size(); ++i) {
    if (!t.cpu[i].grad().defined()) continue;
    t.cpu[i].set_grad(engine::binary_scalar(engine::BinaryOp::mul, t.cpu[i].grad(), gscale));
    t.gpu[i].set_grad(t.cpu[i].grad().to(kGpu));
  }
  const double nc = autograd::clip_grad_norm(t.cpu, max_norm);
  const double ng = autograd::clip_grad_norm(t.gpu, max_norm);
  // Both sum squares in double, in different orders: agreement to ~1e-15 relative.
  CHECK(std::abs(ng - nc) <= 1e-12 * nc);
  // Scaling is one multiplication by max_norm / norm; the two norms differ in the last bits, so the
  // factors (and the scaled values) may differ by one rounding of the dtype.
  const double tol = dt == DType::f32 ? 2e-7 : 1e-15;
  for (size_t i = 0; i < t.cpu.size(); ++i) {
    CHECK(t.gpu[i].grad().defined() == t.cpu[i].grad().defined());
    if (t.cpu[i].grad().defined()) CHECK(rel_err(t.gpu[i].grad(), t.cpu[i].grad()) <= tol);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda AdamW steps match the CPU in f32 and f64") {
  if (!gpu_present()) return;
  Poison poison;
  check_adamw(DType::f32, false);
  check_adamw(DType::f64, false);
}

TEST_CASE("cuda AdamW steps match the CPU on a tensor larger than one launch covers") {
  if (!gpu_present()) return;
  Poison poison;
  check_adamw(DType::f32, true);
}

TEST_CASE("sanitize: cuda SGD momentum and nesterov steps match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    autograd::SGDOptions plain;
    plain.lr = 0.1;
    plain.weight_decay = 1e-3;
    check_sgd(dt, plain);
    autograd::SGDOptions mom = plain;
    mom.momentum = 0.9;
    mom.dampening = 0.1;
    check_sgd(dt, mom);
    autograd::SGDOptions nest = plain;
    nest.momentum = 0.9;
    nest.nesterov = true;
    check_sgd(dt, nest);
  }
}

TEST_CASE("sanitize: cuda clip_grad_norm matches the CPU norm and scaled gradients") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    check_clip(dt, false, 1.0, 1.0);     // clipped
    check_clip(dt, false, 1e-3, 100.0);  // under the limit: untouched
  }
  // A non-finite gradient: the norm is inf and nothing is scaled.
  Twin t = make_params(DType::f32, false);
  set_grads(t, 0, DType::f32);
  Tensor g = t.cpu[5].grad().clone();
  g.data<float>()[4] = std::numeric_limits<float>::infinity();
  t.cpu[5].set_grad(g);
  t.gpu[5].set_grad(g.to(kGpu));
  const Tensor before = t.gpu[0].grad().to(kCpu);
  CHECK(std::isinf(autograd::clip_grad_norm(t.gpu, 1.0)));
  CHECK(same(t.gpu[0].grad(), before));
  // No gradients at all: norm 0.
  std::vector<Var> none = {Var(Tensor::ones({3}, DType::f32, kGpu), true)};
  CHECK(autograd::clip_grad_norm(none, 1.0) == 0.0);
}

TEST_CASE("cuda clip_grad_norm matches the CPU on a tensor larger than one launch covers") {
  if (!gpu_present()) return;
  check_clip(DType::f32, true, 1.0, 1.0);
}

TEST_CASE("sanitize: cuda ModelEMA update and copy_to match the CPU") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64}) {
    auto build = [&] {
      engine::Generator gen(7);
      auto s = std::make_shared<layers::Sequential>();
      s->push_back(std::make_shared<layers::Conv2d>(3, 5, 3, gen));
      s->push_back(std::make_shared<layers::BatchNorm2d>(5));
      s->to(dt);
      return s;
    };
    auto cpu = build(), gpu = build();
    gpu->to(kGpu);
    layers::ModelEMA ema_cpu(*cpu, 0.9), ema_gpu(*gpu, 0.9);
    for (int step = 0; step < 3; ++step) {
      // New weights and buffers (counters included), the same on both sides.
      const engine::NamedTensors sc = cpu->state_dict(), sg = gpu->state_dict();
      for (size_t i = 0; i < sc.size(); ++i) {
        Tensor fresh = engine::is_floating(sc[i].second.dtype())
                           ? randn(sc[i].second.shape(), 50 * step + i, dt)
                           : Tensor::full(sc[i].second.shape(), step + 1, sc[i].second.dtype());
        Tensor dst_c = sc[i].second, dst_g = sg[i].second;
        dst_c.copy_(fresh);
        dst_g.copy_(fresh);
      }
      ema_cpu.update(*cpu);
      ema_gpu.update(*gpu);
    }
    REQUIRE(ema_gpu.state().size() == ema_cpu.state().size());
    // The same two roundings per update on both sides (scale, then add); FMA contraction of the add
    // may differ by an ulp: 1e-6 (f32), 1e-13 (f64).
    // BatchNorm's num_batches_tracked is a host buffer: it stays in host memory, the rest moved.
    auto expected_device = [](const std::string& name) {
      return name.find("num_batches_tracked") != std::string::npos ? kCpu : kGpu;
    };
    for (size_t i = 0; i < ema_cpu.state().size(); ++i) {
      INFO(ema_gpu.state()[i].first);
      CHECK(ema_gpu.state()[i].second.device() == expected_device(ema_gpu.state()[i].first));
      CHECK(rel_err(ema_gpu.state()[i].second, ema_cpu.state()[i].second) <= tolerance(dt));
    }
    auto target = build();
    target->to(kGpu);
    ema_gpu.copy_to(*target);
    const engine::NamedTensors st = target->state_dict();
    for (size_t i = 0; i < st.size(); ++i) {
      INFO(st[i].first);
      CHECK(st[i].second.device() == expected_device(st[i].first));
      CHECK(same(st[i].second, ema_gpu.state()[i].second));
    }
  }
}

}  // TEST_SUITE
