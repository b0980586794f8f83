// The MoE verification on synthetic scenes: the correctness checks pass on a small random CamoXpert and
// every check passes once its routers are centred on the data (content aware); the checker flags each
// kind of doctored observation (so every check can fail); a real model with a blind router or a broken
// expert fails; and the verifier leaves the MoEs' modes as it found them.
#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "data/loader.h"
#include "data/synthetic_dataset.h"
#include "models/config_overrides.h"
#include "models/model_factory.h"
#include "models/moe_verification.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

namespace {

models::CamoXpertConfig micro_config() {
  const std::string tiny = test_dir() + "/../models/configs/camoxpert-tiny.json";
  return models::load_config(tiny, {"backbone.dims=[8,8,16,16]", "head_width=8", "image_size=64",
                                    "moe.experts=[\"CODEdge\",\"CODTexture\",\"ContrastEnhancement\"]",
                                    "moe.top_k=2"});
}

std::shared_ptr<models::CamoXpert> micro_model(uint64_t seed = 7) {
  engine::Generator gen(seed);
  auto m = models::build_camoxpert(micro_config(), gen).model;
  m->eval();
  return m;
}

models::MoEVerificationReport verify(models::CamoXpert& model, int64_t images = 8) {
  const data::SyntheticDataset val("val", images, 64, 64, 0);
  models::MoEVerificationOptions opts;
  opts.images = images;
  opts.batch = 4;
  return models::verify_moe_on_dataset(model, val, opts);
}

data::Batch synthetic_batch(int64_t images) {
  const data::SyntheticDataset val("val", images, 64, 64, 0);
  data::LoaderOptions lo;
  lo.height = lo.width = 64;
  return data::load_batch(val, 0, images, lo);
}

// A random router sees nearly the same pooled features on every image and sends them all to the same
// experts. This one is centred and scaled on the pooled features of `images`, as a trained router
// would be: logit_e = sum_c g_ec (x_c - mean_c) / (std_c sqrt(C)) with g ~ N(0, 1).
void make_routers_content_aware(models::CamoXpert& model, const Tensor& images) {
  autograd::NoGradGuard ng;
  const std::vector<autograd::Var> f = model.backbone().features(autograd::Var(images));
  for (int64_t s = 0; s < 4; ++s) {
    const Tensor& x = f[(size_t)s].data();
    const int64_t B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
    const std::vector<double> v = x.contiguous().to_vector<double>();
    std::vector<double> mean((size_t)C, 0.0), sq((size_t)C, 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        double p = 0;
        for (int64_t i = 0; i < HW; ++i) p += v[(size_t)((b * C + c) * HW + i)];
        p /= (double)HW;
        mean[(size_t)c] += p / (double)B;
        sq[(size_t)c] += p * p / (double)B;
      }
    layers::Linear& router = model.moe(s).router();
    const int64_t E = router.weight.size(0);
    const std::vector<double> g = randn({E, C}, 100 + (uint64_t)s).to_vector<double>();
    std::vector<float> w((size_t)(E * C)), bias((size_t)E, 0.0f);
    for (int64_t e = 0; e < E; ++e)
      for (int64_t c = 0; c < C; ++c) {
        const double sd = std::sqrt(std::max(0.0, sq[(size_t)c] - mean[(size_t)c] * mean[(size_t)c]));
        const double we = sd > 1e-6 ? g[(size_t)(e * C + c)] / (sd * std::sqrt((double)C)) : 0.0;
        w[(size_t)(e * C + c)] = (float)we;
        bias[(size_t)e] -= (float)(we * mean[(size_t)c]);
      }
    router.weight.mutable_data().copy_(Tensor::from_vector<float>(w, {E, C}));
    router.bias.mutable_data().copy_(Tensor::from_vector<float>(bias, {E}));
  }
}

const models::CheckResult& check_named(const models::MoELayerReport& r, const std::string& name) {
  const auto it = std::find_if(r.checks.begin(), r.checks.end(), [&](const models::CheckResult& c) { return c.name == name; });
  REQUIRE_MESSAGE(it != r.checks.end(), name);
  return *it;
}

// The names of the failed checks of a layer report.
std::vector<std::string> failed(const models::MoELayerReport& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks)
    if (!c.passed) out.push_back(c.name);
  return out;
}

// A consistent observation of E = 4 experts, top-2, B images: logits that vary per image, the top-2
// of logits + bias, the renormalised softmax as weights, and outputs that agree.
constexpr int64_t kE = 4, kK = 2;
models::MoEBatchObservation valid_observation(int64_t B, uint64_t seed) {
  models::MoEBatchObservation o;
  const std::vector<double> lg = randn({B, kE}, seed).to_vector<double>();
  std::vector<int64_t> idx;
  std::vector<double> w;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> order{0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return lg[b * kE + i] > lg[b * kE + j]; });
    const double p0 = std::exp(lg[b * kE + order[0]]), p1 = std::exp(lg[b * kE + order[1]]);
    idx.insert(idx.end(), {order[0], order[1]});
    w.insert(w.end(), {p0 / (p0 + p1), p1 / (p0 + p1)});
  }
  o.indices = Tensor::from_vector<int64_t>(idx, {B, kK});
  o.model_indices = o.indices.clone();
  o.weights = Tensor::from_vector<double>(w, {B, kK});
  o.logits = Tensor::from_vector<double>(lg, {B, kE});
  o.bias = Tensor::zeros({kE}, DType::f64);
  o.out_batched = randn({B, 2, 2, 2}, seed + 1);
  o.out_per_sample = o.out_batched.clone();
  o.out_dense_masked = o.out_batched.clone();
  return o;
}

models::MoELayerReport check_one(const models::MoEBatchObservation& o) {
  models::MoELayerChecker c(0, {"a", "b", "c", "d"}, kK, false);
  c.add(o);
  return c.report();
}

void set(Tensor& t, int64_t flat, double v) {
  std::vector<double> x = t.to_vector<double>();
  x[(size_t)flat] = v;
  t = t.dtype() == DType::i64 ? Tensor::from_vector<int64_t>(std::vector<int64_t>(x.begin(), x.end()), t.shape())
                              : Tensor::from_vector<double>(x, t.shape()).to(t.dtype());
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("moe verification thresholds scale with experts and top-k") {
  const models::MoEThresholds t;
  CHECK(models::dead_threshold(t, 6, 2) == doctest::Approx(0.02));
  CHECK(models::dominant_threshold(t, 6, 2) == doctest::Approx(0.5));
  CHECK(models::dead_threshold(t, 12, 2) == doctest::Approx(0.01));
  CHECK(models::dominant_threshold(t, 8, 1) == doctest::Approx(1.5 / 8));
}

TEST_CASE("moe verification correctness checks pass on a small random model") {
  // Routing, weights, combination and stability hold for any weights. Content awareness and
  // specialisation are properties of a trained router: a random one routes every image alike.
  auto model = micro_model();
  const models::MoEVerificationReport r = verify(*model);
  INFO(models::format_moe_verification(r));
  REQUIRE(r.layers.size() == 4);
  CHECK(r.images == 8);
  for (const auto& l : r.layers) {
    CHECK(l.checks.size() == 7);
    for (const char* name : {"capture", "routing", "weights", "combination", "stability"})
      CHECK_MESSAGE(check_named(l, name).passed, "scale ", l.scale, " ", name);
    CHECK(l.max_rel_diff_per_sample <= 1e-5);
    CHECK(l.max_rel_diff_dense <= 1e-5);
    double usage = 0;
    for (double u : l.usage) usage += u;
    CHECK(usage == doctest::Approx(2.0));  // each image chose k = 2 experts
  }
}

TEST_CASE("moe verification passes on a small random model with content-aware routers") {
  auto model = micro_model();
  make_routers_content_aware(*model, synthetic_batch(8).images);
  const models::MoEVerificationReport r = verify(*model);
  INFO(models::format_moe_verification(r));
  REQUIRE(r.layers.size() == 4);
  for (const auto& l : r.layers) CHECK(l.distinct_combinations > 1);
  CHECK(r.passed());
  CHECK(r.num_failed() == 0);
  CHECK(r.num_checks() == 28);
  CHECK(r.to_json().at("passed") == true);
}

TEST_CASE("moe verifier restores the modes of the mixtures") {
  auto model = micro_model();
  model->moe(1).set_mode(layers::MoEMode::per_sample);
  verify(*model, 4);
  CHECK(model->moe(0).options().mode == layers::MoEMode::batched);
  CHECK(model->moe(1).options().mode == layers::MoEMode::per_sample);
  // Routing is not left frozen: a batch of another size runs.
  autograd::NoGradGuard ng;
  CHECK_NOTHROW(model->forward(autograd::Var(randn({1, 3, 64, 64}, 3, DType::f32))));
}

TEST_CASE("moe checks pass on a consistent observation") {
  models::MoELayerChecker c(0, {"a", "b", "c", "d"}, kK, false);
  c.add(valid_observation(4, 1));
  c.add(valid_observation(4, 2));
  const models::MoELayerReport r = c.report();
  INFO(r.to_json().dump(1));
  CHECK(r.images == 8);
  CHECK(r.passed());
}

TEST_CASE("moe checks fail on doctored observations") {
  SUBCASE("index out of range") {
    auto o = valid_observation(4, 1);
    set(o.indices, 0, 4);
    o.model_indices = o.indices.clone();
    const auto r = check_one(o);
    CHECK(!check_named(r, "routing").passed);
    CHECK(!check_named(r, "combination").passed);  // not comparable with an invalid routing
  }
  SUBCASE("repeated expert") {
    auto o = valid_observation(4, 1);
    set(o.indices, 1, o.indices.to_vector<int64_t>()[0]);
    o.model_indices = o.indices.clone();
    CHECK(!check_named(check_one(o), "routing").passed);
  }
  SUBCASE("not the top-k") {
    auto o = valid_observation(4, 1);
    set(o.bias, o.indices.to_vector<int64_t>()[1], -10.0);  // the second choice no longer scores in the top 2
    CHECK(!check_named(check_one(o), "routing").passed);
  }
  SUBCASE("weights perturbed") {
    auto o = valid_observation(4, 1);
    set(o.weights, 2, o.weights.to_vector<double>()[2] * 1.001);
    const auto r = check_one(o);
    CHECK(failed(r) == std::vector<std::string>{"weights"});
    CHECK(r.max_weight_sum_error > 1e-5);
  }
  SUBCASE("negative weight") {
    auto o = valid_observation(4, 1);
    set(o.weights, 0, 1.5);
    set(o.weights, 1, -0.5);
    CHECK(!check_named(check_one(o), "weights").passed);
  }
  SUBCASE("weights that are not the router's") {
    auto o = valid_observation(4, 1);
    set(o.weights, 0, 0.5);
    set(o.weights, 1, 0.5);  // still sums to 1
    CHECK(failed(check_one(o)) == std::vector<std::string>{"weights"});
  }
  SUBCASE("batched output differs from the per-sample reference") {
    auto o = valid_observation(4, 1);
    set(o.out_per_sample, 5, o.out_per_sample.to_vector<double>()[5] + 1e-3);
    const auto r = check_one(o);
    CHECK(failed(r) == std::vector<std::string>{"combination"});
    CHECK(r.max_rel_diff_per_sample > 1e-5);
  }
  SUBCASE("batched output differs from the dense oracle") {
    auto o = valid_observation(4, 1);
    set(o.out_dense_masked, 0, 100.0);
    CHECK(failed(check_one(o)) == std::vector<std::string>{"combination"});
  }
  SUBCASE("NaN router logit") {
    auto o = valid_observation(4, 1);
    set(o.logits, 3, NAN);
    CHECK(!check_named(check_one(o), "stability").passed);
  }
  SUBCASE("infinite output") {
    auto o = valid_observation(4, 1);
    set(o.out_batched, 7, INFINITY);
    const auto r = check_one(o);
    CHECK(!check_named(r, "stability").passed);
    CHECK(!check_named(r, "combination").passed);
  }
  SUBCASE("huge activation") {
    auto o = valid_observation(4, 1);
    for (Tensor* t : {&o.out_batched, &o.out_per_sample, &o.out_dense_masked}) set(*t, 2, 2e4);
    CHECK(failed(check_one(o)) == std::vector<std::string>{"stability"});
  }
  SUBCASE("the model's own forward routed differently") {
    auto o = valid_observation(4, 1);
    const std::vector<int64_t> i = o.indices.to_vector<int64_t>();
    int64_t other = 0;
    while (other == i[0] || other == i[1]) ++other;
    set(o.model_indices, 0, other);  // image 0: an expert the direct run did not choose
    CHECK(failed(check_one(o)) == std::vector<std::string>{"capture"});
  }
}

TEST_CASE("moe checks judge content awareness and specialisation over all images") {
  // Every image routes to experts {0, 1}: one combination, experts 2 and 3 dead, 0 and 1 dominant.
  models::MoELayerChecker c(2, {"a", "b", "c", "d"}, kK, false);
  const int64_t B = 8;
  std::vector<double> lg;
  for (int64_t b = 0; b < B; ++b) lg.insert(lg.end(), {2.0 + 0.1 * (double)b, 1.0, -1.0, -2.0});
  models::MoEBatchObservation o;
  o.logits = Tensor::from_vector<double>(lg, {B, kE});
  std::vector<int64_t> idx;
  std::vector<double> w;
  for (int64_t b = 0; b < B; ++b) {
    const double p0 = std::exp(lg[b * kE]), p1 = std::exp(lg[b * kE + 1]);
    idx.insert(idx.end(), {0, 1});
    w.insert(w.end(), {p0 / (p0 + p1), p1 / (p0 + p1)});
  }
  o.indices = Tensor::from_vector<int64_t>(idx, {B, kK});
  o.model_indices = o.indices.clone();
  o.weights = Tensor::from_vector<double>(w, {B, kK});
  o.bias = Tensor::zeros({kE}, DType::f64);
  o.out_batched = o.out_per_sample = o.out_dense_masked = randn({B, 1, 2, 2}, 4);
  c.add(o);
  const auto r = c.report();
  CHECK(failed(r) == std::vector<std::string>{"content", "specialisation"});
  CHECK(r.distinct_combinations == 1);
  CHECK(r.usage == std::vector<double>{1.0, 1.0, 0.0, 0.0});
  const std::string spec = check_named(r, "specialisation").detail;
  CHECK(spec.find("dead") != std::string::npos);
  CHECK(spec.find("dominant") != std::string::npos);

  // The same single combination on fewer images than the content check needs is not judged.
  models::MoELayerChecker few(2, {"a", "b", "c", "d"}, kK, false);
  models::MoEBatchObservation half = o;
  half.indices = o.indices.slice(0, 0, 4).clone();
  half.model_indices = half.indices.clone();
  half.weights = o.weights.slice(0, 0, 4).clone();
  half.logits = o.logits.slice(0, 0, 4).clone();
  half.out_batched = half.out_per_sample = half.out_dense_masked = o.out_batched.slice(0, 0, 4).clone();
  few.add(half);
  CHECK(check_named(few.report(), "content").passed);
}

TEST_CASE("moe verification fails on a real model with a blind router or a broken expert") {
  SUBCASE("blind router") {
    // Zero router: every logit ties, so every image gets experts {0, 1} (ties go to the lower index).
    auto model = micro_model();
    for (int64_t s = 0; s < 4; ++s) {
      model->moe(s).router().weight.mutable_data().zero_();
      model->moe(s).router().bias.mutable_data().zero_();
    }
    const auto r = verify(*model);
    INFO(models::format_moe_verification(r));
    CHECK(!r.passed());
    for (const auto& l : r.layers) CHECK(failed(l) == std::vector<std::string>{"content", "specialisation"});
  }
  SUBCASE("expert with NaN weights") {
    auto model = micro_model();
    for (int64_t e = 0; e < 3; ++e)
      for (auto& [name, p] : model->moe(0).expert(e).named_parameters()) p.mutable_data().fill_(NAN);
    const auto r = verify(*model, 4);
    INFO(models::format_moe_verification(r));
    CHECK(!r.passed());
    CHECK(!check_named(r.layers[0], "stability").passed);
  }
}

}  // TEST_SUITE
