// smoke_train: trains a tiny segmentation CNN on generated camouflage-like images on the CPU and
// prints the loss as it falls. It exercises the whole stack end to end (convolutions, batch norm,
// resize, loss, autograd, AdamW, the warm-up + cosine schedule) until train_cod exists.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/functions/conv.h"
#include "autograd/functions/elementwise.h"
#include "autograd/functions/interpolate.h"
#include "autograd/functions/losses.h"
#include "autograd/functions/norm.h"
#include "autograd/grad_mode.h"
#include "autograd/optim/adamw.h"
#include "autograd/optim/lr_schedule.h"
#include "engine/parallel.h"
#include "engine/random.h"

using namespace cuttle;
using autograd::Var;
using engine::DType;
using engine::Shape;
using engine::Tensor;

namespace {

// One image of a textured background with a differently textured ellipse; mask = the ellipse.
void draw_sample(uint64_t seed, int64_t size, float* image, float* mask) {
  uint64_t c = 0;
  auto rnd = [&]() { return engine::random_unit(seed, c++); };
  struct Grating { double fx, fy, phase, amp; };
  auto gratings = [&](double scale) {
    std::vector<Grating> g(3);
    for (auto& q : g) {
      const double angle = rnd() * M_PI, freq = scale * (2 + 6 * rnd());
      q = {freq * std::cos(angle), freq * std::sin(angle), rnd() * 2 * M_PI, 0.1 + 0.2 * rnd()};
    }
    return g;
  };
  double base[3], shift[3];
  for (int ch = 0; ch < 3; ++ch) base[ch] = 0.3 + 0.4 * rnd();
  for (int ch = 0; ch < 3; ++ch) shift[ch] = (rnd() - 0.5) * 0.5;
  std::vector<Grating> bg[3], fg[3];
  for (int ch = 0; ch < 3; ++ch) {
    bg[ch] = gratings(1.0);
    fg[ch] = gratings(1.6);
  }
  const double cx = 0.25 + 0.5 * rnd(), cy = 0.25 + 0.5 * rnd(), rx = 0.12 + 0.2 * rnd(), ry = 0.12 + 0.2 * rnd();
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x) {
      const double u = (x + 0.5) / size, v = (y + 0.5) / size;
      const bool inside = std::pow((u - cx) / rx, 2) + std::pow((v - cy) / ry, 2) <= 1.0;
      mask[y * size + x] = inside ? 1.0f : 0.0f;
      for (int ch = 0; ch < 3; ++ch) {
        double val = base[ch] + (inside ? shift[ch] : 0.0);
        for (const Grating& q : inside ? fg[ch] : bg[ch]) val += q.amp * std::sin(2 * M_PI * (q.fx * u + q.fy * v) + q.phase);
        image[(ch * size + y) * size + x] = (float)val;
      }
    }
}

struct Batch {
  Tensor images, masks;
};

Batch make_batch(uint64_t first_seed, int64_t batch, int64_t size) {
  Batch b{Tensor::empty({batch, 3, size, size}), Tensor::empty({batch, 1, size, size})};
  for (int64_t i = 0; i < batch; ++i)
    draw_sample(first_seed + (uint64_t)i, size, b.images.data<float>() + i * 3 * size * size,
                b.masks.data<float>() + i * size * size);
  return b;
}

// conv -> batch norm -> ReLU, with PyTorch's default initialisation (uniform +-1/sqrt(fan_in)).
struct ConvBnRelu {
  Var w, b, gamma, beta;
  Tensor running_mean, running_var;
  engine::Conv2dParams p;

  ConvBnRelu(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t dilation, engine::Generator& gen) {
    const double bound = 1.0 / std::sqrt((double)(cin * k * k));
    w = Var(engine::uniform({cout, cin, k, k}, -bound, bound, DType::f32, &gen), true);
    b = Var(engine::uniform({cout}, -bound, bound, DType::f32, &gen), true);
    gamma = Var(Tensor::ones({cout}), true);
    beta = Var(Tensor::zeros({cout}), true);
    running_mean = Tensor::zeros({cout});
    running_var = Tensor::ones({cout});
    p.stride_h = p.stride_w = stride;
    p.dil_h = p.dil_w = dilation;
    p.pad_h = p.pad_w = dilation * (k - 1) / 2;
  }
  Var operator()(const Var& x, bool training) const {
    return autograd::relu(autograd::batch_norm(autograd::conv2d(x, w, b, p), gamma, beta, running_mean, running_var,
                                               training));
  }
  std::vector<Var> params() const { return {w, b, gamma, beta}; }
};

struct TinySegNet {
  ConvBnRelu c1, c2, c3;
  Var head_w, head_b;

  explicit TinySegNet(engine::Generator& gen)
      : c1(3, 16, 3, 1, 1, gen), c2(16, 32, 3, 2, 1, gen), c3(32, 32, 3, 1, 2, gen) {
    const double bound = 1.0 / std::sqrt(32.0);
    head_w = Var(engine::uniform({1, 32, 1, 1}, -bound, bound, DType::f32, &gen), true);
    head_b = Var(engine::uniform({1}, -bound, bound, DType::f32, &gen), true);
  }
  Var operator()(const Var& x, bool training) const {
    Var h = c3(c2(c1(x, training), training), training);
    Var logits = autograd::conv2d(h, head_w, head_b);
    return autograd::resize_bilinear(logits, x.size(2), x.size(3));
  }
  std::vector<Var> params() const {
    std::vector<Var> ps;
    for (const ConvBnRelu* c : {&c1, &c2, &c3})
      for (const Var& v : c->params()) ps.push_back(v);
    ps.push_back(head_w);
    ps.push_back(head_b);
    return ps;
  }
};

struct Eval {
  double loss, iou;
};

Eval evaluate(const TinySegNet& net, const Batch& val) {
  autograd::NoGradGuard no_grad;
  Var logits = net(Var(val.images), false);
  const double loss = autograd::binary_cross_entropy_with_logits(logits, Var(val.masks)).item();
  std::vector<float> l = logits.data().to_vector<float>(), m = val.masks.to_vector<float>();
  double inter = 0, uni = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    const bool p = l[i] > 0, g = m[i] > 0.5f;
    inter += p && g;
    uni += p || g;
  }
  return {loss, uni > 0 ? inter / uni : 1.0};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smoke_train: train a tiny segmentation CNN on generated images (CPU)"};
  int64_t steps = 300, batch = 16, size = 32, seed = 0;
  double lr = 3e-3;
  int threads = 0;
  bool check = false;
  app.add_option("--steps", steps, "training steps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch, "images per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--image-size", size, "image side in pixels (multiple of 2)")->capture_default_str()->check(CLI::Range(8, 512));
  app.add_option("--lr", lr, "peak learning rate (AdamW)")->capture_default_str();
  app.add_option("--seed", seed, "random seed (weights and data)")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  app.add_flag("--check", check, "exit 1 unless the loss fell by 30% and IoU rose");
  CLI11_PARSE(app, argc, argv);
  if (size % 2) {
    std::fprintf(stderr, "smoke_train: --image-size must be even, got %ld\n", (long)size);
    return 2;
  }
  if (threads > 0) engine::set_num_threads(threads);

  try {
    engine::Generator gen((uint64_t)seed);
    TinySegNet net(gen);
    std::vector<Var> params = net.params();
    int64_t count = 0;
    for (const Var& p : params) count += p.numel();
    autograd::AdamWOptions opt_opts;
    opt_opts.lr = lr;
    opt_opts.weight_decay = 1e-4;
    autograd::AdamW opt(params, opt_opts);
    autograd::WarmupCosine schedule{lr, std::max<int64_t>(1, steps / 15), steps, lr * 0.02, 0.1};
    const Batch val = make_batch(1'000'000 + (uint64_t)seed * 7919, 64, size);
    const Eval before = evaluate(net, val);
    std::printf("smoke_train: %ld parameters, %d threads, %ld steps of %ld images %ldx%ld\n", (long)count,
                engine::num_threads(), (long)steps, (long)batch, (long)size, (long)size);
    std::printf("untrained: val loss %.4f  IoU %.3f\n", before.loss, before.iou);

    double first = 0, last = 0;
    const int64_t window = std::max<int64_t>(1, std::min<int64_t>(20, steps / 5));
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < steps; ++step) {
      opt.set_lr(schedule.lr(step));
      const Batch b = make_batch((uint64_t)seed * 1'000'003 + (uint64_t)(step * batch), batch, size);
      Var loss = autograd::binary_cross_entropy_with_logits(net(Var(b.images), true), Var(b.masks));
      opt.zero_grad();
      loss.backward();
      opt.step();
      const double l = loss.item();
      if (!std::isfinite(l)) {
        std::fprintf(stderr, "smoke_train: loss became %f at step %ld\n", l, (long)step);
        return 1;
      }
      if (step < window) first += l / window;
      if (step >= steps - window) last += l / window;
      if (step % 25 == 0 || step == steps - 1) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("step %4ld  loss %.4f  lr %.2e  %.1f img/s\n", (long)step, l, opt.lr(), (step + 1) * batch / secs);
        std::fflush(stdout);
      }
    }
    const Eval after = evaluate(net, val);
    std::printf("trained:   val loss %.4f  IoU %.3f\n", after.loss, after.iou);
    std::printf("mean training loss: first %ld steps %.4f, last %ld steps %.4f\n", (long)window, first, (long)window, last);
    if (check && !(last < 0.7 * first && after.iou > before.iou)) {
      std::fprintf(stderr, "smoke_train: the loss did not fall enough (%.4f -> %.4f) or IoU did not rise\n", first, last);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smoke_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
