#include "models/moe_verification.h"

#include <algorithm>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "data/loader.h"
#include "engine/error.h"
#include "models/training/datasets.h"

namespace cuttle::models {

namespace {

// Restores a SparseMoE's mode and unfreezes its routing when the verifier is done with it, even when a
// check throws half-way.
class MoEModeScope {
 public:
  explicit MoEModeScope(layers::SparseMoE& moe) : moe_(moe), mode_(moe.options().mode) {}
  ~MoEModeScope() {
    moe_.unfreeze_routing();
    moe_.set_mode(mode_);
  }
  MoEModeScope(const MoEModeScope&) = delete;
  MoEModeScope& operator=(const MoEModeScope&) = delete;

 private:
  layers::SparseMoE& moe_;
  layers::MoEMode mode_;
};

std::string fixed(double v, const char* f = "%.3f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

bool MoEVerificationReport::passed() const { return num_failed() == 0 && !layers.empty(); }

int64_t MoEVerificationReport::num_checks() const {
  int64_t n = 0;
  for (const auto& l : layers) n += (int64_t)l.checks.size();
  return n;
}

int64_t MoEVerificationReport::num_failed() const {
  int64_t n = 0;
  for (const auto& l : layers)
    for (const auto& c : l.checks) n += !c.passed;
  return n;
}

nlohmann::json MoEVerificationReport::to_json() const {
  nlohmann::json j = {{"passed", passed()}, {"images", images}, {"source", source},
                      {"checks", num_checks()}, {"failed", num_failed()}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : layers) j["layers"].push_back(l.to_json());
  return j;
}

MoEVerifier::MoEVerifier(CamoXpert& model, MoEThresholds thresholds) : model_(model) {
  const std::vector<std::string>& names = model.config().moe.experts;
  for (int64_t s = 0; s < 4; ++s) {
    layers::SparseMoE& moe = model.moe(s);
    CUTTLE_CHECK(moe.num_experts() == (int64_t)names.size(), "MoEVerifier: MoE ", s, " has ", moe.num_experts(),
                 " experts, the config names ", names.size());
    checkers_.emplace_back(s, names, moe.options().top_k, moe.options().bias_in_weights, thresholds);
  }
}

void MoEVerifier::add_batch(const Tensor& images) {
  CUTTLE_CHECK(images.dim() == 4 && images.size(1) == 3, "MoEVerifier: images must be [B, 3, S, S], got ", images.str());
  autograd::NoGradGuard no_grad;
  model_.eval();  // BN on running statistics, dropout off, no balancing update: the modes must agree

  // 1. The whole model as it runs: what each MoE chose inside the real forward.
  const Var x(images);
  model_.forward(x);
  std::vector<Tensor> model_indices;
  for (int64_t s = 0; s < 4; ++s) model_indices.push_back(model_.moe(s).last_indices().clone());

  // 2. The features that reach the MoEs: CamoXpert feeds backbone map s straight into MoE s. The
  //    capture check proves it (same routing as inside the model's forward).
  const std::vector<Var> f = model_.backbone().features(x);
  CUTTLE_CHECK(f.size() == 4, "MoEVerifier: the backbone gave ", f.size(), " feature maps, expected 4");
  for (int64_t s = 0; s < 4; ++s) {
    layers::SparseMoE& moe = model_.moe(s);
    MoEModeScope scope(moe);
    MoEBatchObservation obs;
    moe.set_mode(layers::MoEMode::batched);
    obs.out_batched = moe(f[(size_t)s]).data();
    obs.indices = moe.last_indices().clone();
    obs.weights = moe.last_weights().data();
    obs.logits = moe.last_logits().data();
    obs.bias = moe.buffer("bias").clone();
    // The references on the same input with the same routing, so only the combination differs.
    moe.freeze_routing(obs.indices);
    moe.set_mode(layers::MoEMode::per_sample);
    obs.out_per_sample = moe(f[(size_t)s]).data();
    moe.set_mode(layers::MoEMode::dense_masked);
    obs.out_dense_masked = moe(f[(size_t)s]).data();
    obs.model_indices = model_indices[(size_t)s];
    checkers_[(size_t)s].add(obs);
  }
}

MoEVerificationReport MoEVerifier::report() const {
  MoEVerificationReport r;
  for (const auto& c : checkers_) r.layers.push_back(c.report());
  r.images = r.layers.empty() ? 0 : r.layers.front().images;
  return r;
}

MoEVerificationReport verify_moe_on_dataset(CamoXpert& model, const data::Dataset& dataset,
                                            const MoEVerificationOptions& opts) {
  CUTTLE_CHECK(opts.images >= 1 && opts.batch >= 1, "verify_moe: images (", opts.images, ") and batch (", opts.batch,
               ") must be at least 1");
  CUTTLE_CHECK(dataset.size() > 0, "verify_moe: dataset ", dataset.name(), " is empty");
  const int64_t size = opts.image_size > 0 ? opts.image_size : model.config().image_size;
  CUTTLE_CHECK(size % 32 == 0, "verify_moe: image size ", size, " is not a multiple of 32");

  // Spread the images evenly over the dataset, so several sets (or a long one) are all represented.
  const int64_t n = std::min(opts.images, dataset.size());
  std::vector<int64_t> picks;
  for (int64_t i = 0; i < n; ++i) picks.push_back(i * dataset.size() / n);
  // A non-owning handle: the caller's dataset outlives this function.
  const std::shared_ptr<const data::Dataset> borrowed(std::shared_ptr<const data::Dataset>(), &dataset);
  const SubsetDataset subset(borrowed, picks, dataset.name());

  data::LoaderOptions lo;
  lo.batch_size = opts.batch;
  lo.height = lo.width = size;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.device = opts.device;
  MoEVerifier verifier(model, opts.thresholds);
  for (int64_t first = 0; first < n; first += opts.batch) {
    const int64_t count = std::min(opts.batch, n - first);
    verifier.add_batch(data::load_batch(subset, first, count, lo).images);
    if (opts.progress) opts.progress(first + count, n);
  }
  MoEVerificationReport r = verifier.report();
  r.source = dataset.name();
  return r;
}

std::string format_moe_verification(const MoEVerificationReport& report) {
  std::string out = "MoE verification on " + std::to_string(report.images) + " images" +
                    (report.source.empty() ? "" : " of " + report.source) + " (eval mode)\n";
  std::vector<std::string> failed;
  for (const MoELayerReport& l : report.layers) {
    out += "\nscale " + std::to_string(l.scale) + ": " + std::to_string(l.num_experts) + " experts, top-" +
           std::to_string(l.top_k) + "\n";
    for (const CheckResult& c : l.checks) {
      char name[24];
      std::snprintf(name, sizeof name, "%-15s", c.name.c_str());
      out += std::string("  ") + (c.passed ? "PASS  " : "FAIL  ") + name + c.detail + "\n";
      if (!c.passed) failed.push_back("scale " + std::to_string(l.scale) + " " + c.name);
    }
    size_t width = 6;
    for (const auto& n : l.expert_names) width = std::max(width, n.size());
    char row[128];
    std::snprintf(row, sizeof row, "    %-*s  %6s  %11s\n", (int)width, "expert", "usage", "mean weight");
    out += row;
    for (size_t e = 0; e < l.expert_names.size(); ++e) {
      std::snprintf(row, sizeof row, "    %-*s  %6s  %11s\n", (int)width, l.expert_names[e].c_str(),
                    fixed(l.usage[e]).c_str(), fixed(l.mean_weight[e]).c_str());
      out += row;
    }
  }
  out += "\n";
  if (report.passed()) {
    out += "PASS: all " + std::to_string(report.num_checks()) + " checks\n";
  } else {
    out += "FAIL: " + std::to_string(report.num_failed()) + " of " + std::to_string(report.num_checks()) + " checks (";
    for (size_t i = 0; i < failed.size(); ++i) out += (i ? ", " : "") + failed[i];
    out += ")\n";
  }
  return out;
}

}  // namespace cuttle::models
