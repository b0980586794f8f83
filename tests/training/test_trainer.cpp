// The trainer end to end on a very small model and synthetic data: it writes the whole run directory,
// and a run stopped mid-epoch and resumed gives bit for bit the losses and metrics of an uninterrupted
// run (CPU). Also the held-out validation split never overlaps the training images.
#include <cmath>
#include <filesystem>
#include <set>

#include "data/synthetic_dataset.h"
#include "engine/io/safetensors.h"
#include "engine/ops/elementwise.h"
#include "models/config_overrides.h"
#include "models/training/datasets.h"
#include "models/training/run_log.h"
#include "models/training/trainer.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

namespace {

models::CamoXpertConfig micro_config() {
  const std::string tiny = test_dir() + "/../models/configs/camoxpert-tiny.json";
  return models::load_config(tiny, {"backbone.dims=[8,8,16,16]", "head_width=8", "image_size=64",
                                    "moe.experts=[\"CODEdge\",\"CODTexture\",\"ContrastEnhancement\"]", "moe.top_k=2",
                                    "train.batch=2", "train.steps=6", "train.synthetic_size=8", "train.val_size=3",
                                    "train.warmup_steps=2", "train.ema=true", "train.accumulate=1"});
}

models::TrainerOptions options(const fs::path& dir) {
  models::TrainerOptions o;
  o.config = micro_config();
  o.out_dir = dir.string();
  o.verbose = false;
  o.workers = 2;
  o.report_images = 2;
  return o;
}

fs::path fresh(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "cuttle_test_trainer" / name;
  fs::remove_all(d);
  return d;
}

// Synthetic scenes whose listed indices come back with NaN pixels (a corrupt file that decodes).
class PoisonedDataset : public data::Dataset {
 public:
  PoisonedDataset(std::set<int64_t> bad) : base_("train", 8, 64, 64, 0), bad_(std::move(bad)) {}
  int64_t size() const override { return base_.size(); }
  data::Sample get(int64_t i) const override {
    data::Sample s = base_.get(i);
    if (bad_.count(i)) s.image = engine::binary_scalar(engine::BinaryOp::mul, s.image, NAN);
    return s;
  }
  std::string name() const override { return "poisoned"; }

 private:
  data::SyntheticDataset base_;
  std::set<int64_t> bad_;
};

}  // namespace

TEST_SUITE("models") {

TEST_CASE("non-finite losses skip the step without touching the model and stop after several") {
  // One NaN image: its batch is skipped each epoch (never 5 in a row), the run ends normally and no
  // buffer (BN statistics, balancing bias) has picked up a NaN.
  const fs::path one = fresh("one-nan");
  models::TrainerOptions o = options(one);
  o.train_dataset = std::make_shared<PoisonedDataset>(std::set<int64_t>{3});
  o.val_dataset = std::make_shared<data::SyntheticDataset>("val", 3, 64, 64, 0);
  models::TrainResult r = models::Trainer(o).run();
  CHECK(r.steps == 6);  // steps count optimizer updates; skipped batches do not count
  CHECK(std::isfinite(r.final_metrics.sm));
  int skipped = 0;
  for (const auto& e : models::RunLog::read((one / "log.jsonl").string())) skipped += e.value("event", "").find("skipped") != std::string::npos;
  CHECK(skipped >= 1);
  for (const auto& [name, t] : engine::load_safetensors((one / "checkpoint_last" / "model.safetensors").string()).tensors) {
    if (t.dtype() != DType::f32) continue;
    for (float v : t.to_vector<float>()) REQUIRE_MESSAGE(std::isfinite(v), name);
  }

  // Every image NaN: 5 skips in a row stop the run with a message naming the checkpoint.
  const fs::path all = fresh("all-nan");
  models::TrainerOptions a = options(all);
  a.train_dataset = std::make_shared<PoisonedDataset>(std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  a.val_dataset = o.val_dataset;
  a.config.train.steps = 12;
  CHECK_THROWS_WITH_AS(models::Trainer(a).run(), doctest::Contains("non-finite"), cuttle::Error);
  CHECK(fs::is_directory(all / "checkpoint_last"));
}


TEST_CASE("trainer writes the run directory and resumes bit for bit") {
  const fs::path whole = fresh("whole"), split = fresh("split");
  models::TrainResult a = models::Trainer(options(whole)).run();
  REQUIRE(a.step_losses.size() == 6);
  for (const char* f : {"config.json", "run.json", "log.jsonl", "metrics.json", "report.html"})
    CHECK_MESSAGE(fs::is_regular_file(whole / f), f);
  for (const char* d : {"checkpoint_last", "checkpoint_best"}) CHECK(fs::is_directory(whole / d));
  const auto log = models::RunLog::read((whole / "log.jsonl").string());
  int validations = 0;
  for (const auto& e : log) validations += e.value("kind", "") == "validation";
  CHECK(validations == 3);  // untrained + 2 epochs of 4 images / batch 2

  // Stop after step 3 (mid-epoch 2), then resume.
  std::atomic<bool> stop{false};
  models::TrainerOptions first = options(split);
  first.stop = &stop;
  first.on_step = [&](int64_t step, double) {
    if (step == 3) stop = true;
  };
  models::TrainResult b = models::Trainer(first).run();
  CHECK(b.interrupted);
  REQUIRE(b.step_losses.size() == 3);
  models::TrainerOptions second = options(split);
  second.resume = split.string();
  models::TrainResult c = models::Trainer(second).run();
  REQUIRE(c.step_losses.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(b.step_losses[i] == a.step_losses[i]);
    CHECK(c.step_losses[i] == a.step_losses[i + 3]);
  }
  CHECK(c.final_metrics.sm == a.final_metrics.sm);
  CHECK(c.final_metrics.mae == a.final_metrics.mae);
}

TEST_CASE("progressive resizing trains the first steps at the low resolution") {
  const fs::path dir = fresh("low_res");
  models::TrainerOptions o = options(dir);
  o.config.image_size = 96;  // the deepest map at 64x64 is 2x2: BatchNorm has enough values
  o.config.train.low_res_size = 64;
  o.config.train.low_res_steps = 2;
  o.log_every = 1;
  models::TrainResult r = models::Trainer(o).run();
  REQUIRE(r.step_losses.size() == 6);
  for (double l : r.step_losses) CHECK(std::isfinite(l));
  std::vector<int64_t> sizes;
  for (const auto& e : models::RunLog::read((dir / "log.jsonl").string()))
    if (e.value("kind", "") == "step") sizes.push_back(e.at("input_size").get<int64_t>());
  CHECK(sizes == std::vector<int64_t>{64, 64, 96, 96, 96, 96});
  // Validation stays at the full size.
  CHECK(r.final_metrics.sm > 0);
}

TEST_CASE("held-out validation never shares an image with training") {
  class Numbers : public data::Dataset {
   public:
    int64_t size() const override { return 100; }
    data::Sample get(int64_t i) const override { return {Tensor(), Tensor(), std::to_string(i)}; }
    std::string name() const override { return "numbers"; }
  };
  models::HeldOut h = models::hold_out(std::make_shared<Numbers>(), 0.05, 500, 3);
  CHECK(h.val->size() == 5);
  CHECK(h.train->size() == 95);
  std::set<std::string> seen;
  for (int64_t i = 0; i < h.train->size(); ++i) seen.insert(h.train->get(i).name);
  for (int64_t i = 0; i < h.val->size(); ++i) CHECK(seen.count(h.val->get(i).name) == 0);
}

TEST_CASE("the synthetic validation split draws its scenes with the recipe's cue") {
  // The trainer validates on it and verify_moe checks on it: both must see the run's own scenes.
  models::CamoXpertConfig cfg = micro_config();
  cfg.train.synthetic_cue = {0.0, 0.1};
  cfg.train.seed = 5;
  std::shared_ptr<const data::Dataset> val = models::synthetic_validation_split(cfg, 64);
  CHECK(val->size() == cfg.train.val_size);
  data::SyntheticConfig hard;
  hard.cue_min = 0.0;
  hard.cue_max = 0.1;
  const data::Sample got = val->get(1);
  const data::Sample want = data::SyntheticDataset("val", cfg.train.val_size, 64, 64, 5, hard).get(1);
  const data::Sample other = data::SyntheticDataset("val", cfg.train.val_size, 64, 64, 5).get(1);
  CHECK(got.name == want.name);
  CHECK(got.image.to_vector<float>() == want.image.to_vector<float>());
  CHECK(got.image.to_vector<float>() != other.image.to_vector<float>());
}

}
