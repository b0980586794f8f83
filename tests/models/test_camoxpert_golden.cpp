// Golden test of the whole CamoXpert against its PyTorch twin (tools/camoxpert_torch.py; fixtures by
// tools/golden_camoxpert.py): a SmallCNN [4,4,8,8] model, head width 8, the 6 default experts top-2,
// batch 2 at 64x64, float64. One training step: every output map, every loss term, the routing and its
// weights, every parameter gradient and the buffers after the forward. Then 10 AdamW steps as a trainer
// does them (warm-up + cosine lr, the router group at 0.1x lr, weight decay, gradient clipping at 1):
// the routing selections of every MoE at every step, the losses, gradient norms and final parameters,
// and an eval forward after the steps (BatchNorm on the running statistics they accumulated).
//
// Tolerance: both sides compute in float64 from the same f32 weights with the same formulas, so they
// differ only in summation order inside convolutions, GEMMs and reductions (~1e-16 relative per op).
// Measured: maps and loss terms 1.2e-14, gradients 4e-15 (relative to each tensor's largest value),
// 10-step losses 6e-15, gradient norms 5e-14, eval terms after the steps 3e-13. Checked at 1e-12
// (maps, terms, buffers) and 1e-11 (gradients, the steps' losses and norms, eval terms): orders of
// headroom for other compilers and instruction sets, and still far below any real deviation (a wrong
// formula shows at 1e-3 or more). The final parameters are checked at 1e-8 (a missing weight decay
// would show at ~1e-6): a conv bias feeding a train-mode BatchNorm has a true gradient of 0, so both
// sides hold rounding noise (~1e-17) that AdamW turns into steps of lr * noise / eps ~ 1e-12; after 10
// steps the sums of those biases differ by ~1e-10 (refine.blocks.1.0.conv.bias; how much depends on
// the summation orders). The selections are compared exactly; the fixture guarantees a margin > 1e-6
// at every selection, far above the rounding.
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/optim/adamw.h"
#include "autograd/optim/clip_grad.h"
#include "autograd/optim/lr_schedule.h"
#include "engine/io/safetensors.h"
#include "engine/ops/index.h"
#include "models/model_factory.h"
#include "models/loss.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;

namespace {

const std::string kDir = "/fixtures/camoxpert/";
constexpr double kMapTol = 1e-12, kGradTol = 1e-11, kStepTol = 1e-11, kParamTol = 1e-8;

struct Golden {
  models::CamoXpertConfig cfg;
  std::map<std::string, Tensor> g;
  const Tensor& at(const std::string& k) const {
    auto it = g.find(k);
    REQUIRE_MESSAGE(it != g.end(), "golden entry '", k, "' is missing");
    return it->second;
  }
};

bool have_fixture() {
  if (std::filesystem::exists(test_dir() + kDir + "golden.safetensors")) return true;
  MESSAGE("skipped: no fixture (run tools/golden_camoxpert.py tests/fixtures/camoxpert)");
  return false;
}

Golden load_golden() {
  Golden gd;
  gd.cfg = models::load_camoxpert_config(test_dir() + kDir + "config.json");
  gd.g = engine::load_safetensors(test_dir() + kDir + "golden.safetensors").tensors;
  return gd;
}

std::shared_ptr<models::CamoXpert> load_model(const Golden& gd) {
  engine::Generator gen(0);
  auto model = models::make_camoxpert(gd.cfg, gen);
  model->load_state(test_dir() + kDir + "weights.safetensors");  // strict: every name as the twin's
  model->to(DType::f64);
  model->train();
  return model;
}

// The batch of step s from the u8 pool, converted as the twin does: x = image / 127.5 - 1, T = mask.
std::pair<Tensor, Tensor> batch(const Golden& gd, int64_t step) {
  const Tensor ids = engine::index_select(gd.at("batches"), 0, Tensor::from_vector<int64_t>({step}, {1})).reshape({-1});
  Tensor img = engine::index_select(gd.at("images"), 0, ids).to(DType::f64);
  std::vector<double> v = img.to_vector<double>();
  for (double& e : v) e = e / 127.5 - 1.0;
  return {Tensor::from_vector<double>(v, img.shape()), engine::index_select(gd.at("masks"), 0, ids).to(DType::f64)};
}

// Row `step` of route.{s} [steps, B, k].
std::vector<int64_t> route(const Golden& gd, size_t s, int64_t step) {
  const Tensor& r = gd.at("route." + std::to_string(s));
  return engine::index_select(r, 0, Tensor::from_vector<int64_t>({step}, {1})).to_vector<int64_t>();
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("CamoXpert matches its PyTorch twin on one training step") {
  if (!have_fixture()) return;
  const Golden gd = load_golden();
  auto model = load_model(gd);
  auto [x, target] = batch(gd, 0);

  models::CamoXpertOutput out = model->forward(Var(x));
  for (size_t s = 0; s < 4; ++s) {
    CAPTURE(s);
    CHECK(model->moe((int64_t)s).last_indices().to_vector<int64_t>() == route(gd, s, 0));
    CHECK(max_rel_diff(model->moe((int64_t)s).last_weights().data(), gd.at("weights." + std::to_string(s))) < kMapTol);
  }
  const std::vector<std::pair<std::string, Var>> maps{{"logits", out.logits}, {"pred_1", out.pred_1}, {"p0", out.p0},
                                                     {"fg", out.fg},         {"search", out.search}, {"u", out.u},
                                                     {"deep.0", out.deep[0]}, {"deep.1", out.deep[1]},
                                                     {"deep.2", out.deep[2]}};
  double worst_map = 0;
  for (const auto& [name, v] : maps) {
    CAPTURE(name);
    const double d = max_rel_diff(v.data(), gd.at("out." + name));
    worst_map = std::max(worst_map, d);
    CHECK(d < kMapTol);
  }

  models::LossTerms L = models::camoxpert_loss(out, target, gd.cfg.loss);
  double worst_loss = 0;
  for (const auto& [name, value] : L.values()) {
    CAPTURE(name);
    const double ref = gd.at("loss." + name).item();
    const double d = std::abs(value - ref) / std::max(1.0, std::abs(ref));
    worst_loss = std::max(worst_loss, d);
    CHECK(d < kMapTol);
  }

  L.total.backward();
  int with_grad = 0, without = 0;
  double worst_grad = 0;
  for (const auto& [name, p] : model->named_parameters()) {
    CAPTURE(name);
    if (!gd.g.count("grad." + name)) {  // an expert nobody chose: no gradient on either side
      CHECK(!p.grad().defined());
      ++without;
      continue;
    }
    REQUIRE(p.grad().defined());
    const double d = max_rel_diff(p.grad(), gd.at("grad." + name));
    worst_grad = std::max(worst_grad, d);
    CHECK(d < kGradTol);
    ++with_grad;
  }
  CHECK(with_grad > 100);
  if (gd.cfg.moe.mode == "batched" || gd.cfg.moe.mode == "per_sample") CHECK(without > 0);  // dense modes run all
  double worst_buffer = 0;
  for (const auto& [name, b] : model->named_buffers()) {
    CAPTURE(name);
    const double d = max_rel_diff(b.to(DType::f64), gd.at("after." + name).to(DType::f64));
    worst_buffer = std::max(worst_buffer, d);
    CHECK(d < kMapTol);
  }
  MESSAGE("max relative difference: maps ", worst_map, ", loss terms ", worst_loss, ", gradients ", worst_grad,
          " (", with_grad, " parameters; ", without, " unchosen), buffers ", worst_buffer);
}

TEST_CASE("CamoXpert trains 10 AdamW steps like its PyTorch twin") {
  if (!have_fixture()) return;
  const Golden gd = load_golden();
  auto model = load_model(gd);
  const models::TrainConfig& t = gd.cfg.train;
  autograd::AdamWOptions ao;
  ao.lr = t.lr;
  ao.beta1 = t.beta1;
  ao.beta2 = t.beta2;
  ao.weight_decay = t.weight_decay;
  autograd::AdamW opt(models::camoxpert_param_groups(*model, t), ao);
  CHECK(opt.groups().at(1).params.size() == 8);  // 4 routers x (weight, bias) at 0.1x lr
  const autograd::WarmupCosine sched{t.lr, t.warmup_steps, t.steps, t.min_lr};
  std::vector<Var> params = model->parameters();

  const int64_t steps = gd.at("losses").numel();
  const std::vector<double> losses = gd.at("losses").to_vector<double>(), terms = gd.at("terms").to_vector<double>(),
                            lrs = gd.at("lr").to_vector<double>(), norms = gd.at("grad_norm").to_vector<double>();
  const char* term_names[] = {"final", "refine", "p0", "fg", "search", "deep", "uncertainty"};
  double worst_loss = 0, worst_norm = 0;
  for (int64_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    auto [x, target] = batch(gd, step);
    opt.set_lr(sched.lr(step));
    CHECK(std::abs(opt.lr() - lrs[(size_t)step]) <= 1e-15 * lrs[(size_t)step]);
    models::CamoXpertOutput out = model->forward(Var(x));
    for (size_t s = 0; s < 4; ++s) {
      CAPTURE(s);
      REQUIRE(model->moe((int64_t)s).last_indices().to_vector<int64_t>() == route(gd, s, step));
    }
    models::LossTerms L = models::camoxpert_loss(out, target, gd.cfg.loss);
    const auto values = L.values();
    for (size_t i = 0; i < 7; ++i) {
      CAPTURE(term_names[i]);
      REQUIRE(values[i + 1].first == term_names[i]);
      const double ref = terms[(size_t)step * 7 + i];
      CHECK(std::abs(values[i + 1].second - ref) <= kStepTol * std::max(1.0, std::abs(ref)));
    }
    const double d = std::abs(L.total.item() - losses[(size_t)step]) / std::abs(losses[(size_t)step]);
    worst_loss = std::max(worst_loss, d);
    CHECK(d < kStepTol);
    opt.zero_grad();
    L.total.backward();
    const double norm = autograd::clip_grad_norm(params, t.clip);
    const double dn = std::abs(norm - norms[(size_t)step]) / norms[(size_t)step];
    worst_norm = std::max(worst_norm, dn);
    CHECK(dn < kStepTol);
    opt.step();
  }

  double worst_param = 0;
  std::string worst_name;
  for (const auto& [name, p] : model->named_parameters()) {
    CAPTURE(name);
    const std::vector<double> ref = gd.at("final." + name).to_vector<double>();
    const Tensor w = p.data().to(DType::f64);
    const std::vector<double> v = w.to_vector<double>();
    double sum = 0, sq = 0;
    for (double e : v) sum += e, sq += e * e;
    const double d = std::max(std::abs(sum - ref[0]) / std::max(1.0, std::abs(ref[0])), std::abs(sq - ref[1]) / std::max(1.0, ref[1]));
    if (d >= worst_param) worst_param = d, worst_name = name;
    CHECK(d < kParamTol);
  }
  for (size_t s = 0; s < 4; ++s)
    for (const char* b : {"bias", "usage_ema"}) {
      const std::string name = "moe." + std::to_string(s) + "." + b;
      CAPTURE(name);
      CHECK(max_rel_diff(model->moe((int64_t)s).buffer(b).to(DType::f64), gd.at("final." + name).to(DType::f64)) == 0.0);
    }

  // Eval mode on the first batch: BatchNorm reads the running statistics of the 10 steps.
  model->eval();
  double worst_eval = 0;
  {
    autograd::NoGradGuard no_grad;
    auto [x, target] = batch(gd, 0);
    models::LossTerms L = models::camoxpert_loss(model->forward(Var(x)), target, gd.cfg.loss);
    for (size_t s = 0; s < 4; ++s)
      CHECK(model->moe((int64_t)s).last_indices().to_vector<int64_t>() ==
            gd.at("eval.route." + std::to_string(s)).to_vector<int64_t>());
    const std::vector<double> ref = gd.at("eval.terms").to_vector<double>();
    const auto values = L.values();
    REQUIRE(values.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(values[i].first);
      const double d = std::abs(values[i].second - ref[i]) / std::max(1.0, std::abs(ref[i]));
      worst_eval = std::max(worst_eval, d);
      CHECK(d < kStepTol);
    }
  }
  MESSAGE("10 steps, max relative difference: losses ", worst_loss, ", gradient norms ", worst_norm,
          ", final parameter sums ", worst_param, " (", worst_name, "), eval loss terms after the steps ", worst_eval);
}

}
