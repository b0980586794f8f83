// train_cod: trains a CamoXpert model. With no arguments it trains camoxpert-tiny on the built-in
// synthetic camouflage scenes on the best device present, validates with the COD metrics and leaves a
// run directory (checkpoints, log, metrics, report). --data trains on COD10K/CAMO/NC4K-style roots,
// --test evaluates the best checkpoint on test sets, --resume continues an interrupted run.
#include <CLI/CLI.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "apps/branch_streams_option.h"
#include "apps/shipped_config.h"
#include "data/eval_folder.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "engine/system_info.h"
#include "models/checkpoint.h"
#include "models/config_overrides.h"
#include "models/inference.h"
#include "models/model_factory.h"
#include "models/training/datasets.h"
#include "models/training/trainer.h"

using namespace cuttle;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

// The field's table for the best checkpoint of `run_dir` on every test set of `roots`.
void evaluate_test_sets(const std::string& run_dir, const std::vector<std::string>& roots, engine::Device device) {
  models::TrainedModel t = models::load_trained_model(run_dir, device);
  engine::set_cuda_math(t.config.train.tf32, false);
  const models::CamoXpertConfig& cfg = t.config;
  const std::string& ckpt = t.checkpoint;
  auto& model = t.model;
  models::InferenceOptions io;
  io.image_size = cfg.image_size;
  io.device = device;
  std::vector<std::pair<std::string, data::metrics::DatasetMetrics>> rows;
  for (const auto& set : models::open_sets(roots, "test")) {
    std::printf("testing %s (%lld images) with %s\n", set->name().c_str(), (long long)set->size(), ckpt.c_str());
    rows.emplace_back(set->name(), models::evaluate_model(*model, *set, io).metrics);
  }
  std::printf("\n%s", data::format_dataset_rows(rows).c_str());
  engine::write_file_atomic((fs::path(run_dir) / "test_metrics.json").string(), data::dataset_rows_json(rows).dump(2) + "\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"train_cod: train a CamoXpert camouflaged-object-detection model"};
  // CLI11's own range checks print the type's whole range; these say what is wrong.
  const CLI::Validator not_negative(
      [](std::string& v) { return v.rfind('-', 0) == 0 ? "must not be negative (0 = the config's), got " + v : ""; }, "");
  const CLI::Validator at_least_one(
      [](std::string& v) {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        return end != v.c_str() && x >= 1 ? std::string() : "must be at least 1, got " + v;
      },
      "");
  std::string config = "camoxpert-tiny", device_name = "auto", out, resume;
  std::vector<std::string> data_roots, val_roots, test_roots, overrides;
  int64_t epochs = 0, batch = 0, image_size = 0, steps = 0;
  double lr = 0;
  int64_t seed = -1;
  int workers = 2, threads = 0;
  bool deterministic = false, overfit = false, quiet = false;
  std::string backbone_weights, check_data = "headers";
  app.add_option("--config", config, "config file, or the name of a shipped config (models/configs/NAME.json)")
      ->capture_default_str();
  app.add_option("--data", data_roots, "dataset root(s) to train on (COD10K, CAMO, NC4K, SINet bundle or image/mask "
                                       "folders; layout detected); none: the built-in synthetic data");
  app.add_option("--val", val_roots, "validation root(s); default: the synthetic val split, or 5% held out of --data");
  app.add_option("--test", test_roots, "test root(s): after training, evaluate the best checkpoint on every test set "
                                       "and print the table (with --resume of a finished run: evaluate only)");
  app.add_option("--check-data", check_data, "before training, read every file's header (headers) or decode every "
                                            "image and mask of --data, --val and --test once (full: finds "
                                            "truncated files; slower to start)")
      ->capture_default_str()
      ->check(CLI::IsMember({"headers", "full"}));
  app.add_option("--epochs", epochs, "epochs (overrides the config's train.steps and train.epochs; 0 = config)")
      ->capture_default_str()
      ->check(not_negative);
  app.add_option("--steps", steps, "optimizer steps (overrides train.steps; 0 = config)")
      ->capture_default_str()
      ->check(not_negative);
  app.add_option("--batch-size", batch, "images per batch (0 = config's train.batch)")
      ->capture_default_str()
      ->check(not_negative);
  app.add_option("--image-size", image_size, "square input side, a multiple of 32, at least 64 (0 = config's image_size)")
      ->capture_default_str()
      ->check(not_negative);
  app.add_option("--lr", lr, "peak learning rate (0 = config's train.lr)")
      ->capture_default_str()
      ->check(not_negative);
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto (CUDA when present)")->capture_default_str();
  app.add_option("--seed", seed, "seed of initialisation, data order, augmentation and synthetic scenes "
                                 "(-1 = config's train.seed)")
      ->capture_default_str();
  app.add_option("--out", out, "run directory (default: runs/<config>-<timestamp>)");
  app.add_option("--resume", resume, "continue the run in this directory from its checkpoint_last");
  app.add_flag("--deterministic", deterministic, "bit-reproducible runs (the CPU backend always is; on CUDA it "
                                                 "restricts algorithm choices)")
      ->capture_default_str();
  app.add_flag("--overfit-batch", overfit, "train on a single fixed batch: the loss must go towards 0 (debugging)")
      ->capture_default_str();
  app.add_option("--backbone-weights", backbone_weights, "pretrained backbone weights (safetensors; timm names for "
                                                         "PVTv2) loaded before training")
      ->capture_default_str();
  app.add_option("--set", overrides, "override any config field: --set train.ema=true --set moe.top_k=1");
  app.add_option("--workers", workers, "data loader threads")->capture_default_str()->check(at_least_one);
  app.add_option("--threads", threads, "CPU compute threads (0 = OpenMP default)")
      ->capture_default_str()
      ->check(not_negative);
  apps::add_branch_streams_option(app);
  app.add_flag("--quiet", quiet, "no progress bars or tables")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);

  try {
    const engine::Device device = engine::parse_device(device_name);
    // The test roots are only read after training: a typo or a damaged file there must not cost the
    // whole run, so they get the same check as the training data, now.
    const bool decode_data = check_data == "full";
    if (!test_roots.empty()) models::open_sets(test_roots, "test", decode_data);
    models::TrainerOptions opts;
    if (!resume.empty()) {
      // The run's own config (with its overrides) is what continues.
      const std::string ckpt = models::resume_checkpoint(resume);
      const nlohmann::json meta = models::read_checkpoint_meta(ckpt);
      opts.config = models::parse_camoxpert_config(models::checkpoint_field(meta, ckpt, "config"), ckpt);
      if (!test_roots.empty() && data_roots.empty()) {
        // A finished run: evaluate only, when it has nothing left to train.
        const nlohmann::json& step = models::checkpoint_field(meta, ckpt, "step");
        CUTTLE_CHECK(step.is_number_integer(), "checkpoint '", ckpt, "': its step is ", step.dump(), ", not an integer");
        if (opts.config.train.steps > 0 && step.get<int64_t>() >= opts.config.train.steps) {
          evaluate_test_sets(resume, test_roots, device);
          return 0;
        }
      }
      CUTTLE_CHECK(overrides.empty() && epochs == 0 && steps == 0 && batch == 0 && image_size == 0 && lr == 0,
                   "--resume continues a run with its own config; drop the config options (or start a new run)");
    } else {
      const std::string path = apps::find_shipped_config(config);
      std::vector<std::string> all = overrides;
      if (epochs > 0) all.insert(all.end(), {"train.epochs=" + std::to_string(epochs), "train.steps=0"});
      if (steps > 0) all.push_back("train.steps=" + std::to_string(steps));
      if (batch > 0) all.push_back("train.batch=" + std::to_string(batch));
      if (image_size > 0) all.push_back("image_size=" + std::to_string(image_size));
      if (lr > 0) all.push_back("train.lr=" + nlohmann::json(lr).dump());
      if (seed >= 0) all.push_back("train.seed=" + std::to_string(seed));
      if (!backbone_weights.empty()) all.push_back("backbone.weights=" + nlohmann::json(backbone_weights).dump());
      opts.config = models::load_config(path, all);
    }
    opts.data = data_roots;
    opts.val = val_roots;
    opts.decode_data = decode_data;
    if (decode_data && data_roots.empty() && val_roots.empty() && resume.empty())
      std::printf("note: --check-data full has no files to check: training runs on the built-in synthetic scenes\n");
    opts.device = device;
    opts.out_dir = out.empty() ? "runs/" + opts.config.name + "-" + timestamp() : out;
    opts.resume = resume;
    opts.deterministic = deterministic;
    opts.overfit_batch = overfit;
    opts.workers = workers;
    opts.verbose = !quiet;
    opts.stop = &g_stop;
    opts.command_line = std::vector<std::string>(argv, argv + argc);
    std::signal(SIGINT, on_sigint);
    models::Trainer trainer(opts);
    const models::TrainResult r = trainer.run();
    if (r.interrupted) {
      std::printf("stopped: continue with  %s --resume %s\n", argv[0], r.run_dir.c_str());
      return 130;
    }
    if (!test_roots.empty()) evaluate_test_sets(r.run_dir, test_roots, device);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\ntrain_cod: error: %s\n", e.what());
    return 1;
  }
}
