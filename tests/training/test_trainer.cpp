// The trainer end to end on a very small model and synthetic data: it writes the whole run directory,
// and a run stopped mid-epoch and resumed gives bit for bit the losses and metrics of an uninterrupted
// run (CPU). Also the held-out validation split never overlaps the training images.
#include <filesystem>
#include <set>

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

}  // namespace

TEST_SUITE("models") {

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

}
