// A training image that passes the up-front check (its header is intact) but cannot be decoded when its
// batch comes: the run stops naming the file, keeps its weights in checkpoint_last, and once the file
// is fixed --resume (on the run's own data roots) continues it exactly as if nothing had happened.
// A resume with other data roots is refused. With decode_data (train_cod --check-data full) the same
// file stops the run before its first step.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/synthetic/export.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/config_overrides.h"
#include "models/training/trainer.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// Cuts the file to its first half (a JPEG keeps its header, loses scan data); returns the original.
std::string cut_in_half(const fs::path& p) {
  const std::string whole = read_bytes(p);
  write_bytes(p, whole.substr(0, whole.size() / 2));
  return whole;
}

// `train` synthetic 64x64 training scenes of `seed` as a COD10K-style root.
void export_scenes(const fs::path& root, int64_t train, uint64_t seed) {
  data::ExportOptions ex;
  ex.train = train;
  ex.test = 0;
  ex.height = ex.width = 64;
  ex.seed = seed;
  data::export_synthetic(root.string(), ex);
}

// A micro run on dataset roots under `base`: `data` to train on, `val` to validate on.
models::TrainerOptions micro_run(const fs::path& base, const std::string& data, const std::string& val, int64_t steps) {
  models::TrainerOptions o;
  o.config = models::load_config(test_dir() + "/../models/configs/camoxpert-tiny.json",
                                 {"backbone.dims=[8,8,16,16]", "head_width=8", "image_size=64",
                                  "moe.experts=[\"CODEdge\",\"CODTexture\"]", "train.batch=2",
                                  "train.steps=" + std::to_string(steps), "train.warmup_steps=1"});
  o.data = {(base / data).string()};
  o.val = {(base / val).string()};
  o.out_dir = (base / "run").string();
  o.verbose = false;
  o.report_images = 1;
  o.workers = 1;
  return o;
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("a training image that fails to decode mid-run saves checkpoint_last and --resume goes on") {
  const fs::path base = fs::path(CUTTLE_TEST_BINARY_DIR) / "data_error_checkpoint";
  fs::remove_all(base);
  export_scenes(base / "data", 12, 0);
  export_scenes(base / "val", 2, 1);  // validation apart: it reads its roots' train split
  const fs::path bad = base / "data/Train/Image/synthetic-train-000003.jpg";
  const std::string good = cut_in_half(bad);

  const models::TrainerOptions o = micro_run(base, "data", "val", 6);
  try {
    models::Trainer(o).run();
    FAIL("expected the damaged image to stop the run");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("synthetic-train-000003.jpg") != std::string::npos);
    CHECK(m.find("checkpoint_last. Replace the file with a readable copy") != std::string::npos);
  }
  REQUIRE(fs::exists(base / "run/checkpoint_last/model.safetensors"));
  const int64_t stopped_at = models::read_checkpoint_meta((base / "run/checkpoint_last").string()).at("step");

  write_bytes(bad, good);
  // The same run without the damaged file, uninterrupted: the resumed run must continue it exactly.
  models::TrainerOptions whole = o;
  whole.out_dir = (base / "whole").string();
  const models::TrainResult reference = models::Trainer(whole).run();
  REQUIRE(reference.step_losses.size() == 6);

  // Resumed without naming the data again: the run's own roots (run.json), not the synthetic scenes.
  models::TrainerOptions r = o;
  r.data.clear();
  r.val.clear();
  r.resume = (base / "run").string();
  const models::TrainResult done = models::Trainer(r).run();
  CHECK(done.steps == 6);
  REQUIRE(done.step_losses.size() == (size_t)(6 - stopped_at));
  for (size_t i = 0; i < done.step_losses.size(); ++i)
    CHECK(done.step_losses[i] == reference.step_losses[(size_t)stopped_at + i]);  // bit for bit on the CPU
}

TEST_CASE("a resumed run refuses data roots other than its own") {
  const fs::path base = fs::path(CUTTLE_TEST_BINARY_DIR) / "resume_other_data";
  fs::remove_all(base);
  export_scenes(base / "a", 8, 0);
  export_scenes(base / "b", 8, 0);
  const models::TrainerOptions o = micro_run(base, "a", "b", 2);
  models::Trainer(o).run();
  models::TrainerOptions r = o;
  r.resume = o.out_dir;
  r.data = {(base / "b").string()};
  CHECK_THROWS_WITH_AS(models::Trainer(r).run(), doctest::Contains("the run trained with --data"), Error);
  r.data = {(base / "a/").string()};  // the same root written another way
  CHECK_NOTHROW(models::Trainer(r).run());
}


TEST_CASE("decode_data finds the damaged image before the first step") {
  const fs::path base = fs::path(CUTTLE_TEST_BINARY_DIR) / "data_error_up_front";
  fs::remove_all(base);
  export_scenes(base / "data", 6, 0);
  export_scenes(base / "val", 2, 1);
  const fs::path bad = base / "data/Train/Image/synthetic-train-000004.jpg";
  const std::string good = cut_in_half(bad);
  models::TrainerOptions o = micro_run(base, "data", "val", 4);
  o.decode_data = true;
  int64_t steps = 0;
  o.on_step = [&](int64_t, double) { ++steps; };
  try {
    models::Trainer(o).run();
    FAIL("expected the up-front check to refuse the damaged image");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("1 problem(s) in the dataset") != std::string::npos);
    CHECK(m.find("synthetic-train-000004.jpg") != std::string::npos);
  }
  CHECK(steps == 0);
  CHECK_FALSE(fs::exists(base / "run/checkpoint_last"));
  write_bytes(bad, good);
  CHECK_NOTHROW(models::Trainer(o).run());
  CHECK(steps == 4);
}

}
