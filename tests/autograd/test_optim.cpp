// Tests of the optimizers (against the update rules written out step by step), the warm-up + cosine
// schedule and gradient clipping.
#include "autograd/optim/adamw.h"
#include "autograd/optim/clip_grad.h"
#include "autograd/optim/lr_schedule.h"
#include "autograd/optim/sgd.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::autograd;

TEST_SUITE("autograd") {

TEST_CASE("AdamW follows the decoupled-decay rule and skips parameters without a gradient") {
  Var p(Tensor::from_vector<double>({1.0, -2.0}, {2}), true);
  Var unused(Tensor::from_vector<double>({5.0}, {1}), true);
  AdamWOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.05;
  AdamW opt({p, unused}, o);
  double w[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[3][2] = {{0.5, -1.0}, {0.2, 0.3}, {-0.4, 0.1}};
  for (int t = 1; t <= 3; ++t) {
    p.set_grad(Tensor::from_vector<double>({grads[t - 1][0], grads[t - 1][1]}, {2}));
    opt.step();
    for (int i = 0; i < 2; ++i) {
      const double g = grads[t - 1][i];
      w[i] -= o.lr * o.weight_decay * w[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double mh = m[i] / (1 - std::pow(o.beta1, t)), vh = v[i] / (1 - std::pow(o.beta2, t));
      w[i] -= o.lr * mh / (std::sqrt(vh) + o.eps);
    }
  }
  std::vector<double> got = p.data().to_vector<double>();
  CHECK(got[0] == doctest::Approx(w[0]).epsilon(1e-12));
  CHECK(got[1] == doctest::Approx(w[1]).epsilon(1e-12));
  CHECK(unused.data().item() == 5.0);  // no gradient: untouched, even by weight decay
  auto state = opt.state_dict();
  CHECK(state.count("0.0.exp_avg") == 1);
  CHECK(state.count("0.1.exp_avg") == 0);
  CHECK(state.at("0.0.step").item<int64_t>() == 3);
}

TEST_CASE("AdamW state round-trips through state_dict") {
  Var a(Tensor::from_vector<double>({1.0, 2.0}, {2}), true), b(Tensor::from_vector<double>({1.0, 2.0}, {2}), true);
  AdamW oa({a}, AdamWOptions{}), ob({b}, AdamWOptions{});
  for (int t = 0; t < 2; ++t) {
    a.set_grad(Tensor::from_vector<double>({0.3, -0.7}, {2}));
    oa.step();
  }
  b.mutable_data().copy_(a.data());
  ob.load_state_dict(oa.state_dict());
  a.set_grad(Tensor::from_vector<double>({0.1, 0.2}, {2}));
  b.set_grad(Tensor::from_vector<double>({0.1, 0.2}, {2}));
  oa.step();
  ob.step();
  CHECK(a.data().to_vector<double>() == b.data().to_vector<double>());
}

TEST_CASE("SGD with momentum and Nesterov and weight decay") {
  for (bool nesterov : {false, true}) {
    Var p(Tensor::from_vector<double>({1.0}, {1}), true);
    SGDOptions o;
    o.lr = 0.1;
    o.momentum = 0.9;
    o.weight_decay = 0.01;
    o.nesterov = nesterov;
    SGD opt({p}, o);
    double w = 1.0, buf = 0;
    const double grads[3] = {0.5, -0.25, 1.0};
    for (int t = 0; t < 3; ++t) {
      p.set_grad(Tensor::from_vector<double>({grads[t]}, {1}));
      opt.step();
      double d = grads[t] + o.weight_decay * w;
      buf = t == 0 ? d : o.momentum * buf + d;
      d = nesterov ? d + o.momentum * buf : buf;
      w -= o.lr * d;
    }
    CHECK(p.data().item() == doctest::Approx(w).epsilon(1e-12));
  }
}

TEST_CASE("parameter groups scale the learning rate") {
  Var a(Tensor::from_vector<double>({1.0}, {1}), true), b(Tensor::from_vector<double>({1.0}, {1}), true);
  SGDOptions o;
  o.lr = 1.0;
  SGD opt({ParamGroup{{a}}, ParamGroup{{b}, 0.1}}, o);
  a.set_grad(Tensor::ones({1}, DType::f64));
  b.set_grad(Tensor::ones({1}, DType::f64));
  opt.step();
  CHECK(a.data().item() == doctest::Approx(0.0));
  CHECK(b.data().item() == doctest::Approx(0.9));
  opt.zero_grad();
  CHECK(!a.grad().defined());
}

TEST_CASE("warm-up then cosine schedule") {
  WarmupCosine s{1.0, 10, 110, 0.1, 0.0};
  CHECK(s.lr(0) == doctest::Approx(0.0));
  CHECK(s.lr(5) == doctest::Approx(0.5));
  CHECK(s.lr(10) == doctest::Approx(1.0));
  CHECK(s.lr(60) == doctest::Approx(0.55));
  CHECK(s.lr(110) == doctest::Approx(0.1));
  CHECK(s.lr(500) == doctest::Approx(0.1));
}

TEST_CASE("global-norm gradient clipping") {
  Var a(Tensor::zeros({1}, DType::f64), true), b(Tensor::zeros({1}, DType::f64), true), c(Tensor::zeros({1}, DType::f64), true);
  a.set_grad(Tensor::from_vector<double>({3.0}, {1}));
  b.set_grad(Tensor::from_vector<double>({4.0}, {1}));
  std::vector<Var> ps{a, b, c};
  CHECK(clip_grad_norm(ps, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().item() == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(b.grad().item() == doctest::Approx(0.8).epsilon(1e-5));
  CHECK(clip_grad_norm(ps, 10.0) == doctest::Approx(1.0).epsilon(1e-5));
}

}
