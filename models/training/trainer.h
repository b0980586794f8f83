// Declares Trainer, the training loop behind train_cod: data (synthetic scenes or dataset roots with
// their layouts detected), the model of a config, AdamW with the router's lr group, warm-up + cosine,
// clipping, accumulation, EMA, the frozen-backbone first stage, validation with the evaluation
// protocol's metrics, the run directory (config.json, run.json, log.jsonl, checkpoints, metrics.json,
// report.html), NaN-step skipping, interruption and bit-exact resumption.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/optim/adamw.h"
#include "data/metrics/accumulator.h"
#include "data/sample.h"
#include "layers/ema.h"
#include "models/camoxpert.h"
#include "models/training/run_log.h"

namespace cuttle::models {

struct TrainerOptions {
  CamoXpertConfig config;
  std::vector<std::string> data;  // dataset roots (train split); empty: the built-in synthetic data
  std::vector<std::string> val;   // validation roots; empty: synthetic val split or a held-out share
  bool decode_data = false;       // decode every file of data and val before training (else headers only)
  // Datasets given directly (library use, tests); they take precedence over the roots above.
  std::shared_ptr<const data::Dataset> train_dataset, val_dataset;
  engine::Device device = engine::Device::cpu();
  std::string out_dir;            // the run directory (created)
  std::string resume;             // a run directory to continue (out_dir is then the same)
  bool deterministic = false;
  bool overfit_batch = false;     // train on one fixed batch (no augmentation): a debugging aid
  int workers = 2;
  int64_t log_every = 10;         // steps between log lines of the JSONL log
  int64_t max_bad_steps = 5;      // consecutive non-finite losses before the run stops
  int64_t report_images = 8;      // validation images shown in report.html
  std::atomic<bool>* stop = nullptr;  // set by a signal handler: checkpoint and return
  std::function<void(int64_t step, double loss)> on_step;  // after each optimizer step
  nlohmann::json command_line;    // recorded in run.json
  bool verbose = true;            // progress bars and validation tables on stdout
};

struct TrainResult {
  data::metrics::DatasetMetrics final_metrics, untrained_metrics;
  double best_sm = 0;
  int64_t steps = 0;
  bool interrupted = false;
  std::vector<double> step_losses;  // every optimizer step's total loss (for resume tests)
  std::string run_dir;
};

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);
  ~Trainer();
  TrainResult run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace cuttle::models
