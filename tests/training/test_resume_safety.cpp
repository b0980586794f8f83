// A resume that fails or has nothing to do leaves the run as it was: a truncated checkpoint or a
// damaged checkpoint.json fails naming the file before run.json or the log is touched, a finished
// run keeps its metrics.json, and a successful resume appends itself to run.json. Also the messages
// for a directory that is no run.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/config_overrides.h"
#include "models/training/trainer.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

namespace {

models::TrainerOptions micro_options(const fs::path& dir, int64_t steps) {
  models::TrainerOptions o;
  o.config = models::load_config(test_dir() + "/../models/configs/camoxpert-tiny.json",
                                 {"backbone.dims=[8,8,16,16]", "head_width=8", "image_size=64",
                                  "moe.experts=[\"CODEdge\",\"CODTexture\"]", "train.batch=2",
                                  "train.steps=" + std::to_string(steps), "train.synthetic_size=4", "train.val_size=2",
                                  "train.warmup_steps=1"});
  o.out_dir = dir.string();
  o.verbose = false;
  o.report_images = 1;
  return o;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A finished two-step run in its own directory (ctest runs test cases in parallel processes).
fs::path finished_run(const std::string& name) {
  const fs::path d = fs::path(CUTTLE_TEST_BINARY_DIR) / "resume_safety" / name;
  fs::remove_all(d);
  models::Trainer(micro_options(d, 2)).run();
  return d;
}

models::TrainerOptions resume_options(const fs::path& run) {
  models::TrainerOptions o = micro_options(run, 2);
  o.resume = run.string();
  return o;
}

}  // namespace

TEST_SUITE("models") {

TEST_CASE("resuming a finished run changes nothing") {
  const fs::path run = finished_run("again");
  const std::string metrics = slurp(run / "metrics.json"), info = slurp(run / "run.json");
  const models::TrainResult r = models::Trainer(resume_options(run)).run();
  CHECK(r.steps == 2);
  CHECK(r.final_metrics.images == 2);  // the checkpoint's validation, not zeros
  CHECK(slurp(run / "metrics.json") == metrics);
  CHECK(slurp(run / "run.json") == info);
}

TEST_CASE("resuming a run that ended before writing its outputs writes them") {
  // A crash between the last checkpoint and metrics.json: the resume has nothing to train but must
  // not leave the run without its outputs.
  const fs::path run = finished_run("no-outputs");
  const std::string metrics = slurp(run / "metrics.json");
  fs::remove(run / "metrics.json");
  const models::TrainResult r = models::Trainer(resume_options(run)).run();
  CHECK(r.steps == 2);
  REQUIRE(fs::exists(run / "metrics.json"));
  const nlohmann::json before = nlohmann::json::parse(metrics), after = nlohmann::json::parse(slurp(run / "metrics.json"));
  CHECK(after["validation"] == before["validation"]);
  CHECK(after["best_sm"] == before["best_sm"]);
}

TEST_CASE("a failed resume leaves run.json and the log alone") {
  const fs::path run = finished_run("truncated");
  const std::string info = slurp(run / "run.json"), log = slurp(run / "log.jsonl");
  const std::string model = (run / "checkpoint_last" / "model.safetensors").string();
  fs::resize_file(model, 2000);
  CHECK_THROWS_WITH_AS(models::Trainer(resume_options(run)).run(), doctest::Contains("truncated"), cuttle::Error);
  CHECK(slurp(run / "run.json") == info);
  CHECK(slurp(run / "log.jsonl") == log);

  const fs::path damaged = finished_run("damaged");
  std::ofstream(damaged / "checkpoint_last" / "checkpoint.json") << "{\"format\": \"cuttle-checkpoint-1\"}\n";
  CHECK_THROWS_WITH_AS(models::Trainer(resume_options(damaged)).run(),
                       doctest::Contains("checkpoint.json has no 'step'"), cuttle::Error);
}

TEST_CASE("a resume appends itself to run.json") {
  const fs::path run = fs::path(CUTTLE_TEST_BINARY_DIR) / "resume_safety" / "interrupted";
  fs::remove_all(run);
  std::atomic<bool> stop{false};
  models::TrainerOptions o = micro_options(run, 2);
  o.stop = &stop;
  o.on_step = [&](int64_t, double) { stop = true; };  // interrupted after its first step
  REQUIRE(models::Trainer(o).run().interrupted);
  CHECK(models::Trainer(resume_options(run)).run().steps == 2);
  const nlohmann::json info = nlohmann::json::parse(slurp(run / "run.json"));
  CHECK(info["resumed"] == true);
  CHECK(info.contains("command_line"));  // the original run's entries stay
  REQUIRE(info["resumes"].size() == 1);
  CHECK(info["resumes"][0]["step"] == 1);
}

TEST_CASE("resume_checkpoint says why a directory cannot be resumed") {
  const fs::path base = fs::path(CUTTLE_TEST_BINARY_DIR) / "resume_safety";
  CHECK_THROWS_WITH_AS(models::resume_checkpoint((base / "no-such-run").string()),
                       doctest::Contains("no such directory"), cuttle::Error);
  const fs::path best_only = finished_run("best-only");
  fs::remove_all(best_only / "checkpoint_last");
  CHECK_THROWS_WITH_AS(models::resume_checkpoint(best_only.string()),
                       doctest::Contains("it has no checkpoint_last/ (its checkpoint_best/ holds weights"), cuttle::Error);
  const fs::path run = finished_run("whole");
  CHECK(models::resume_checkpoint(run.string()) == (run / "checkpoint_last").string());
  CHECK_THROWS_WITH_AS(models::resolve_checkpoint((base / "no-such-run").string()),
                       doctest::Contains("does not exist; expected a directory with model.safetensors"), cuttle::Error);
}

TEST_CASE("checkpoint.json with a format of the wrong type is not called invalid JSON") {
  const fs::path run = finished_run("format");
  std::ofstream(run / "checkpoint_best" / "checkpoint.json") << "{\"format\": 1}\n";
  CHECK_THROWS_WITH_AS(models::read_checkpoint_meta((run / "checkpoint_best").string()),
                       doctest::Contains("checkpoint.json': format 1, expected \"cuttle-checkpoint-1\""), cuttle::Error);
}

}
