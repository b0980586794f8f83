// Tests of SparseMoE: batched, per-sample and dense_masked modes agree in output and in every
// gradient; unchosen experts get no gradient; the router learns; ties go to the lower index; the
// loss-free bias balances a favoured expert; gradchecks under frozen routing.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/grad_mode.h"

#include <set>
#include "layers/conv.h"
#include "layers/moe/sparse_moe.h"
#include "layers/norm.h"
#include "tests/layers/module_test_util.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;
using layers::MoEMode;
using layers::SparseMoE;
using layers::SparseMoEOptions;

namespace {

// x + relu(bn(conv3x3(x))) (with_bn) or x + tanh(conv3x3(x)): small experts with the interface.
class TestExpert : public layers::UnaryModule {
 public:
  TestExpert(int64_t C, engine::Generator& gen, bool with_bn) {
    conv_ = register_module("conv", std::make_shared<layers::Conv2d>(C, C, 3, gen, layers::Conv2dOptions::same(3)));
    if (with_bn) bn_ = register_module("bn", std::make_shared<layers::BatchNorm2d>(C));
  }
  Var forward(const Var& x) override {
    Var h = (*conv_)(x);
    return autograd::add(x, bn_ ? autograd::relu((*bn_)(h)) : autograd::tanh(h));
  }

 private:
  std::shared_ptr<layers::Conv2d> conv_;
  std::shared_ptr<layers::BatchNorm2d> bn_;
};

std::shared_ptr<SparseMoE> make_moe(int64_t C, int64_t E, bool with_bn, SparseMoEOptions o = {}, uint64_t seed = 1) {
  engine::Generator gen(seed);
  std::vector<std::shared_ptr<layers::UnaryModule>> experts;
  for (int64_t e = 0; e < E; ++e) experts.push_back(std::make_shared<TestExpert>(C, gen, with_bn));
  auto moe = std::make_shared<SparseMoE>(C, experts, o, gen);
  moe->to(DType::f64);
  return moe;
}

struct RunResult {
  std::vector<double> out;
  std::map<std::string, std::vector<double>> grads;
  Tensor gx;
};

RunResult run(SparseMoE& moe, const Tensor& x, const Tensor& proj) {
  moe.zero_grad();
  Var xv(x.clone(), true);
  Var y = moe(xv);
  autograd::sum(autograd::mul(y, Var(proj))).backward();
  RunResult r{y.data().to_vector<double>(), {}, xv.grad()};
  for (auto& [name, p] : moe.named_parameters())
    if (p.grad().defined()) r.grads[name] = p.grad().to_vector<double>();
  return r;
}

void check_same(const RunResult& a, const RunResult& b, double tol) {
  REQUIRE(a.out.size() == b.out.size());
  for (size_t i = 0; i < a.out.size(); ++i) CHECK(std::abs(a.out[i] - b.out[i]) <= tol);
  CHECK(max_rel_diff(a.gx, b.gx) <= tol);
  REQUIRE(a.grads.size() == b.grads.size());
  for (auto& [name, g] : a.grads) {
    INFO(name);
    REQUIRE(b.grads.count(name));
    for (size_t i = 0; i < g.size(); ++i) CHECK(std::abs(g[i] - b.grads.at(name)[i]) <= tol);
  }
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("SparseMoE batched per-sample and dense_masked agree in eval mode with BN experts") {
  auto moe = make_moe(4, 5, /*with_bn=*/true);
  moe->eval();
  Tensor x = randn({6, 4, 5, 5}, 3), proj = randn({6, 4, 5, 5}, 4);
  moe->set_mode(MoEMode::batched);
  RunResult batched = run(*moe, x, proj);
  moe->set_mode(MoEMode::per_sample);
  RunResult per_sample = run(*moe, x, proj);
  moe->set_mode(MoEMode::dense_masked);
  RunResult dense = run(*moe, x, proj);
  check_same(batched, per_sample, 1e-12);
  // dense_masked runs every expert, so unchosen experts get (zero) gradients there: compare the rest.
  for (auto& [name, g] : batched.grads) {
    INFO(name);
    for (size_t i = 0; i < g.size(); ++i) CHECK(std::abs(g[i] - dense.grads.at(name)[i]) <= 1e-12);
  }
  for (size_t i = 0; i < batched.out.size(); ++i) CHECK(std::abs(batched.out[i] - dense.out[i]) <= 1e-12);
}

TEST_CASE("SparseMoE modes agree in training mode for BN-free experts") {
  auto moe = make_moe(4, 4, /*with_bn=*/false);
  moe->train();
  moe->options().balance = false;
  Tensor x = randn({5, 4, 4, 4}, 5), proj = randn({5, 4, 4, 4}, 6);
  moe->set_mode(MoEMode::batched);
  RunResult a = run(*moe, x, proj);
  moe->set_mode(MoEMode::per_sample);
  RunResult b = run(*moe, x, proj);
  check_same(a, b, 1e-12);
}

TEST_CASE("unchosen experts get no gradient and the router learns") {
  auto moe = make_moe(4, 6, true);
  moe->eval();
  Tensor x = randn({2, 4, 4, 4}, 7);
  Var y = (*moe)(Var(x));
  autograd::sum(autograd::square(y)).backward();
  std::set<int64_t> chosen;
  for (int64_t e : moe->last_indices().to_vector<int64_t>()) chosen.insert(e);
  CHECK(chosen.size() < 6);
  for (int64_t e = 0; e < 6; ++e) {
    const bool has = moe->expert(e).parameters()[0].grad().defined();
    CHECK(has == (chosen.count(e) == 1));
  }
  const Tensor g = moe->router().weight.grad();
  REQUIRE(g.defined());
  double norm = 0;
  for (double v : g.to_vector<double>()) norm += v * v;
  CHECK(norm > 0);
}

TEST_CASE("top-k ties go to the lower expert index") {
  Tensor scores = Tensor::from_vector<double>({1, 3, 3, 3, 0, 2, 2, 1}, {2, 4});
  CHECK(layers::moe::select_top_k(scores, 2).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 1, 2});
}

TEST_CASE("loss-free balancing brings a favoured expert back to uniform usage") {
  SparseMoEOptions o;
  o.top_k = 1;
  auto moe = make_moe(4, 4, false, o, 9);
  moe->train();
  // Favour expert 0 by a logit gap of 3 (inside what the +-5 bias range can overcome).
  moe->router().weight.mutable_data().zero_();
  Tensor& b = moe->router().bias.mutable_data();
  b.copy_(Tensor::from_vector<double>({3.0, 0.0, 0.0, 0.0}, {4}));
  autograd::NoGradGuard no_grad;
  for (int step = 0; step < 3000; ++step) (*moe)(Var(randn({16, 4, 2, 2}, 100 + step)));
  moe->reset_stats();
  for (int step = 0; step < 100; ++step) (*moe)(Var(randn({16, 4, 2, 2}, 10000 + step)));
  const auto& st = moe->stats();
  for (int64_t e = 0; e < 4; ++e) {
    const double share = (double)st.selections[(size_t)e] / (double)st.samples;
    INFO("expert ", e, " share ", share);
    CHECK(std::abs(share - 0.25) <= 0.05);
  }
  CHECK(moe->buffer("bias").to_vector<double>()[0] < -2.0);
}

TEST_CASE("SparseMoE state names and the auxiliary loss") {
  SparseMoEOptions o;
  o.aux_loss = true;
  auto moe = make_moe(4, 3, true, o);
  std::vector<std::string> names;
  for (auto& [n, t] : moe->state_dict()) names.push_back(n);
  CHECK(names.front() == "bias");
  CHECK(std::find(names.begin(), names.end(), "router.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "experts.2.bn.running_var") != names.end());
  moe->train();
  moe->set_epoch(60);
  CHECK(moe->aux_coefficient() == doctest::Approx(5.5e-5));
  (*moe)(Var(randn({4, 4, 3, 3}, 2)));
  REQUIRE(moe->aux_loss().defined());
  CHECK(moe->aux_loss().item() > 0);
  CHECK_THROWS_AS((*moe)(Var(randn({4, 5, 3, 3}, 2))), cuttle::Error);
}

}

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck SparseMoE batched with frozen routing and BN experts in train mode") {
  auto moe = make_moe(3, 4, true);
  moe->train();
  moe->freeze_routing(Tensor::from_vector<int64_t>({0, 2, 2, 1, 0, 1, 3, 0}, {4, 2}));
  check_module_gradcheck(*moe, randn({4, 3, 3, 3}, 11));
}

TEST_CASE("gradcheck SparseMoE per-sample in eval mode") {
  auto moe = make_moe(3, 3, true);
  moe->eval();
  moe->set_mode(MoEMode::per_sample);
  moe->freeze_routing(Tensor::from_vector<int64_t>({2, 0, 1, 2}, {2, 2}));
  check_module_gradcheck(*moe, randn({2, 3, 3, 3}, 12));
}

TEST_CASE("gradcheck SparseMoE dense_soft") {
  auto moe = make_moe(3, 3, false);
  moe->set_mode(MoEMode::dense_soft);
  check_module_gradcheck(*moe, randn({2, 3, 3, 3}, 13));
}

}
