// verify_moe: checks a trained CamoXpert's mixtures of experts on real batches in eval mode and prints
// a pass/fail report per MoE layer (routing, weights, batched vs reference combination, numerical
// stability, content awareness, expert specialisation; models/moe_checks.h). Without --data it uses
// the run's built-in synthetic validation split. Exit code 0 when every check passes, 2 when one fails,
// 1 on an error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include "apps/shipped_config.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/parallel.h"
#include "engine/system_info.h"
#include "layers/ema.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "models/moe_verification.h"
#include "models/training/datasets.h"
#include "models/training/progress_bar.h"

using namespace cuttle;

int main(int argc, char** argv) {
  CLI::App app{"verify_moe: check a trained CamoXpert's mixtures of experts on real batches"};
  std::string checkpoint, config, split = "test", device_name = "auto", json_path;
  std::vector<std::string> data_roots;
  int64_t images = 64, batch = 8, image_size = 0;
  bool use_ema = false, quiet = false;
  int threads = 0;
  models::MoEThresholds th;
  app.add_option("--checkpoint", checkpoint, "run directory (its checkpoint_best, else checkpoint_last), checkpoint "
                                             "directory or .safetensors weights (with --config)")
      ->required();
  app.add_option("--config", config, "config (file or shipped name) of a bare .safetensors checkpoint (run and checkpoint directories carry "
                                     "theirs)");
  app.add_option("--data", data_roots, "dataset root(s) (COD10K, CAMO, NC4K, SINet bundle or image/mask folders); "
                                       "none: the run's synthetic validation split");
  app.add_option("--split", split, "split of the --data roots: test or train")->capture_default_str();
  app.add_option("--images", images, "images to check, spread evenly over the data")->capture_default_str();
  app.add_option("--batch", batch, "images per batch")->capture_default_str();
  app.add_option("--image-size", image_size, "square input side, a multiple of 32 (0 = the run's image_size)")
      ->capture_default_str();
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto (CUDA when present)")->capture_default_str();
  app.add_flag("--ema", use_ema, "check the EMA weights (when the checkpoint has them) instead of the raw weights")
      ->capture_default_str();
  app.add_option("--tol", th.output_tol, "batched vs reference outputs: max relative difference")->capture_default_str();
  app.add_option("--dead-factor", th.dead_factor, "an expert is dead when its usage (share of images routed to it) "
                                                  "< this * k/E")
      ->capture_default_str();
  app.add_option("--dominant-factor", th.dominant_factor, "an expert dominates when its usage > this * k/E")
      ->capture_default_str();
  app.add_option("--json", json_path, "also write the report to this JSON file");
  app.add_option("--threads", threads, "CPU compute threads (0 = OpenMP default)")->capture_default_str();
  app.add_flag("--quiet", quiet, "no progress line")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);

  try {
    const engine::Device device = engine::parse_device(device_name);
    // EMA weights are loaded on the CPU, before the model moves to the device.
    models::TrainedModel t = models::load_trained_model(checkpoint, use_ema ? engine::Device::cpu() : device,
                                                    config.empty() ? config : apps::find_shipped_config(config));
    const std::string& ckpt = t.checkpoint;
    const models::CamoXpertConfig& cfg = t.config;
    std::shared_ptr<models::CamoXpert> model = t.model;
    if (use_ema) {
      CUTTLE_CHECK(t.meta.value("has_ema", false), ckpt, " has no EMA weights (drop --ema)");
      layers::ModelEMA ema(*model);
      models::load_checkpoint_ema(ckpt, ema);
      ema.copy_to(*model);
      model->to(device);
    }

    const int64_t size = image_size > 0 ? image_size : cfg.image_size;
    std::shared_ptr<const data::Dataset> dataset;
    if (data_roots.empty()) {
      dataset = models::synthetic_validation_split(cfg, size);  // with the run's train.synthetic_cue
    } else {
      CUTTLE_CHECK(split == "test" || split == "train", "--split must be test or train, got '", split, "'");
      std::vector<std::shared_ptr<const data::Dataset>> sets = models::open_sets(data_roots, split);
      dataset = sets.size() == 1 ? sets.front() : std::make_shared<models::ConcatDataset>(sets);
    }
    std::printf("verify_moe: %s (config %s, %s weights) on %s, device %s\n", ckpt.c_str(), cfg.name.c_str(),
                use_ema ? "EMA" : "raw", dataset->name().c_str(), device.str().c_str());
    std::fflush(stdout);  // before the progress line on stderr

    models::MoEVerificationOptions opts;
    opts.images = images;
    opts.batch = batch;
    opts.image_size = size;
    opts.device = device;
    opts.thresholds = th;
    if (!quiet)
      opts.progress = models::progress_callback("verify_moe");
    const models::MoEVerificationReport report = models::verify_moe_on_dataset(*model, *dataset, opts);
    std::printf("\n%s", models::format_moe_verification(report).c_str());
    if (!json_path.empty()) {
      engine::write_file_atomic(json_path, report.to_json().dump(2) + "\n");
    }
    return report.passed() ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verify_moe: error: %s\n", e.what());
    return 1;
  }
}
