#include "models/training/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "autograd/functions/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/optim/clip_grad.h"
#include "autograd/optim/lr_schedule.h"
#include "data/loader.h"
#include "data/synthetic_dataset.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/interpolate.h"
#include "engine/random.h"
#include "engine/system_info.h"
#include "layers/precise_bn.h"
#include "models/checkpoint.h"
#include "models/inference.h"
#include "models/loss.h"
#include "models/model_factory.h"
#include "models/training/datasets.h"
#include "models/training/moe_report.h"
#include "models/training/progress_bar.h"
#include "models/training/report_html.h"

namespace cuttle::models {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kHeldOutShare = 0.05;  // of the training roots, when no --val is given
constexpr int64_t kMaxHeldOut = 500;

// A batch that could not be loaded in the middle of a run (Trainer::State::next_batch).
struct LoaderFailure : Error {
  LoaderFailure(const std::string& what, bool file_problem) : Error(what), file_problem(file_problem) {}
  bool file_problem;  // a file that could not be read (else the loader itself failed)
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Each metric with its key in log.jsonl, metrics.json and checkpoint.json; both directions use it.
template <typename Metrics, typename Fn>
void for_each_metric(Metrics& m, Fn&& fn) {
  fn("sm", m.sm), fn("mean_em", m.mean_em), fn("wfm", m.wfm), fn("mae", m.mae), fn("iou", m.bin_iou);
  fn("adp_em", m.adp_em), fn("max_em", m.max_em), fn("adp_fm", m.adp_fm), fn("mean_fm", m.mean_fm);
  fn("max_fm", m.max_fm), fn("dice", m.bin_dice), fn("images", m.images);
}

nlohmann::json metrics_json(const data::metrics::DatasetMetrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for_each_metric(m, [&](const char* key, const auto& value) { j[key] = value; });
  return j;
}

data::metrics::DatasetMetrics metrics_from_json(const nlohmann::json& j) {
  data::metrics::DatasetMetrics m;
  for_each_metric(m, [&](const char* key, auto& value) {
    using T = std::decay_t<decltype(value)>;
    const nlohmann::json& v = j.at(key);
    // JSON has no NaN: a metric that was NaN (an empty set, say) was written as null.
    value = v.is_null() && std::is_floating_point_v<T> ? T(NAN) : v.get<T>();
  });
  return m;
}

std::string metrics_line(const data::metrics::DatasetMetrics& m) {
  return "S " + fmt("%.4f", m.sm) + "  meanE " + fmt("%.4f", m.mean_em) + "  wF " + fmt("%.4f", m.wfm) + "  MAE " +
         fmt("%.4f", m.mae) + "  IoU " + fmt("%.4f", m.bin_iou);
}

}  // namespace

struct Trainer::State {
  TrainerOptions opts;
  CamoXpertConfig& cfg;
  std::string run_dir;
  std::shared_ptr<CamoXpert> model, eval_model;  // eval_model: EMA weights, when EMA is on
  std::unique_ptr<autograd::AdamW> optimizer;
  std::unique_ptr<layers::ModelEMA> ema;
  autograd::WarmupCosine schedule;
  std::shared_ptr<const data::Dataset> train_data, val_data;
  bool synthetic = true;
  int64_t steps_per_epoch = 0, total_steps = 0, epochs = 0;
  int64_t step = 0, epoch = 0, step_in_epoch = 0;  // done so far
  double best_sm = -1;
  double untrained_sm = NAN;  // of the run's first validation, for the summary
  data::metrics::DatasetMetrics last_metrics, untrained_metrics;
  RunLog log;
  Clock::time_point start = Clock::now();  // of this process, for "elapsed_s" in the log
  std::vector<nlohmann::json> history;  // step and validation entries, for the report
  TrainResult result;

  explicit State(TrainerOptions o) : opts(std::move(o)), cfg(opts.config) {}

  void say(const std::string& line) const {
    if (opts.verbose) std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  // ---- set-up ----
  // A resumed run trains on the data it started with: roots not given again come from its run.json,
  // and other roots are refused (they would change the held-out split and the epochs' order).
  void adopt_recorded_data() {
    const nlohmann::json run = resumed_run_json();
    if (!run.is_object() || !run.contains("data") || !run.contains("val")) {
      std::fprintf(stderr, "warning: %s/run.json does not say which data the run trained on; using the roots "
                   "given now (%s)\n", opts.resume.c_str(), opts.data.empty() ? "none: the synthetic scenes" : "--data");
      return;
    }
    auto adopt = [&](std::vector<std::string>& given, const char* key, const char* option) {
      const std::vector<std::string> recorded = run[key].get<std::vector<std::string>>();
      if (given.empty()) {
        given = recorded;
        return;
      }
      CUTTLE_CHECK(absolute_roots(given) == absolute_roots(recorded), "--resume ", opts.resume, ": the run trained with ", option, " [",
                   join(recorded), "], not [", join(given), "]; give the same roots or none");
    };
    adopt(opts.data, "data", "--data");
    adopt(opts.val, "val", "--val");
  }

  // The resumed run's run.json, or null where it is missing or damaged.
  nlohmann::json resumed_run_json() const {
    std::ifstream in(fs::path(opts.resume) / "run.json");
    try {
      if (in) return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
    }
    return nullptr;
  }

  // Roots as absolute paths, so a run resumed from another folder finds its data.
  static std::vector<std::string> absolute_roots(const std::vector<std::string>& roots) {
    std::vector<std::string> out;
    for (const std::string& r : roots) {
      fs::path p = fs::absolute(r).lexically_normal();
      if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "COD10K/" is "COD10K"
      out.push_back(p.string());
    }
    return out;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
  }

  void setup_data() {
    const int64_t size = cfg.image_size;
    if (!opts.resume.empty() && !opts.train_dataset) adopt_recorded_data();
    synthetic = opts.data.empty() && !opts.train_dataset;
    if (opts.train_dataset) {
      CUTTLE_CHECK(opts.val_dataset, "TrainerOptions: train_dataset needs a val_dataset");
      train_data = opts.train_dataset;
      val_data = opts.val_dataset;
      say("data       " + train_data->name() + ": " + std::to_string(train_data->size()) + " images; validation " +
          val_data->name() + ": " + std::to_string(val_data->size()));
    } else if (synthetic) {
      val_data = synthetic_validation_split(cfg, size);
      train_data = std::make_shared<data::SyntheticDataset>("train", cfg.train.synthetic_size, size, size, cfg.train.seed,
                                                            models::synthetic_config(cfg));
      say("data       built-in synthetic scenes: " + std::to_string(cfg.train.synthetic_size) +
          " fresh training scenes per epoch, " + std::to_string(cfg.train.val_size) + " validation scenes");
    } else {
      auto sets = open_sets(opts.data, "train", opts.decode_data);
      std::shared_ptr<const data::Dataset> all =
          sets.size() == 1 ? sets[0] : std::make_shared<ConcatDataset>(sets);
      for (const auto& s : sets) say("data       " + s->name() + ": " + std::to_string(s->size()) + " images");
      if (!opts.val.empty()) {
        auto vsets = open_sets(opts.val, "train", opts.decode_data);
        val_data = vsets.size() == 1 ? vsets[0] : std::make_shared<ConcatDataset>(vsets);
        train_data = all;
      } else {
        HeldOut h = hold_out(all, kHeldOutShare, kMaxHeldOut, cfg.train.seed);
        train_data = h.train;
        val_data = h.val;
      }
      say("validation " + val_data->name() + ": " + std::to_string(val_data->size()) + " images (never a test set)");
    }
    const int64_t batches = train_data->size() / cfg.train.batch;
    CUTTLE_CHECK(batches >= cfg.train.accumulate, "training data '", train_data->name(), "' has ", train_data->size(),
                 " images: too few for one step of ", cfg.train.accumulate, " batch(es) of ", cfg.train.batch);
    steps_per_epoch = opts.overfit_batch ? std::max<int64_t>(1, batches / cfg.train.accumulate) : batches / cfg.train.accumulate;
    total_steps = cfg.train.steps > 0 ? cfg.train.steps : cfg.train.epochs * steps_per_epoch;
    epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  }

  // The training images of `epoch`: synthetic runs see fresh scenes every epoch.
  std::shared_ptr<const data::Dataset> epoch_data(int64_t e) const {
    if (!synthetic || opts.overfit_batch) return train_data;
    return std::make_shared<data::SyntheticDataset>("train", cfg.train.synthetic_size, cfg.image_size, cfg.image_size,
                                                    engine::random_bits(cfg.train.seed, 1000 + (uint64_t)e),
                                                    models::synthetic_config(cfg));
  }

  void setup_model() {
    engine::Generator gen(cfg.train.seed);
    BuiltModel built = build_camoxpert(cfg, gen);
    for (const std::string& w : built.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    model = built.model;
    model->to(opts.device);
    autograd::AdamWOptions ao;
    ao.lr = cfg.train.lr;
    ao.beta1 = cfg.train.beta1;
    ao.beta2 = cfg.train.beta2;
    ao.weight_decay = cfg.train.weight_decay;
    optimizer = std::make_unique<autograd::AdamW>(camoxpert_param_groups(*model, cfg.train), ao);
    if (cfg.train.ema) {
      ema = std::make_unique<layers::ModelEMA>(*model, cfg.train.ema_decay);
      engine::Generator g2(cfg.train.seed);
      eval_model = build_camoxpert(cfg, g2).model;
      eval_model->to(opts.device);
    }
    schedule.base_lr = cfg.train.lr;
    schedule.min_lr = cfg.train.min_lr;
    schedule.total_steps = total_steps;
    schedule.warmup_steps = cfg.train.warmup_steps > 0 ? cfg.train.warmup_steps : cfg.train.warmup_epochs * steps_per_epoch;
  }

  void setup_run_dir() {
    run_dir = opts.resume.empty() ? opts.out_dir : opts.resume;
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    CUTTLE_CHECK(!ec, "cannot create the run directory '", run_dir, "': ", ec.message());
    if (opts.resume.empty()) {
      CUTTLE_CHECK(!fs::exists(fs::path(run_dir) / "checkpoint_last"), "run directory '", run_dir,
                   "' already holds a run; continue it with --resume ", run_dir, " or choose another --out");
      engine::write_file_atomic((fs::path(run_dir) / "config.json").string(), to_json(cfg).dump(2) + "\n");
      write_run_json();
    }
    // A resumed run writes run.json once its checkpoint has loaded (write_run_json), so a failed
    // resume leaves the run as it was.
  }

  // run.json: the run's provenance. A resume keeps the original and appends itself under "resumes".
  void write_run_json() {
    nlohmann::json entry = {{"provenance", engine::provenance(opts.device)}, {"deterministic", opts.deterministic},
                            {"command_line", opts.command_line}, {"data", absolute_roots(opts.data)}, {"val", absolute_roots(opts.val)},
                            {"device", opts.device.str()}};
    // A damaged run.json is started afresh rather than failing the resume.
    nlohmann::json run = opts.resume.empty() ? nlohmann::json() : resumed_run_json();
    if (run.is_object()) {
      entry["step"] = step;
      run["resumed"] = true;
      if (!run.contains("resumes") || !run["resumes"].is_array()) run["resumes"] = nlohmann::json::array();
      run["resumes"].push_back(entry);
    } else {
      run = entry;
      run["config"] = cfg.name;
      run["seed"] = cfg.train.seed;
      run["resumed"] = !opts.resume.empty();
    }
    engine::write_file_atomic((fs::path(run_dir) / "run.json").string(), run.dump(2) + "\n");
  }

  // ---- checkpoints ----
  nlohmann::json checkpoint_meta() const {
    const engine::Generator& g = engine::default_generator();
    return {{"config", to_json(cfg)}, {"step", step}, {"epoch", epoch}, {"step_in_epoch", step_in_epoch},
            {"best_sm", best_sm}, {"metrics", metrics_json(last_metrics)},
            {"rng", {{"default_seed", g.seed()}, {"default_offset", g.offset()}}},
            {"provenance", engine::provenance(opts.device)}};
  }

  void save(const char* name) {
    save_checkpoint((fs::path(run_dir) / name).string(), *model, optimizer.get(), ema.get(), checkpoint_meta());
  }

  void resume() {
    const std::string ckpt = resume_checkpoint(run_dir);
    const nlohmann::json meta = read_checkpoint_meta(ckpt);
    // Every field is read before anything changes, so a damaged checkpoint.json fails cleanly.
    uint64_t rng_seed = 0, rng_offset = 0;
    try {
      step = checkpoint_field(meta, ckpt, "step").get<int64_t>();
      epoch = checkpoint_field(meta, ckpt, "epoch").get<int64_t>();
      step_in_epoch = checkpoint_field(meta, ckpt, "step_in_epoch").get<int64_t>();
      best_sm = checkpoint_field(meta, ckpt, "best_sm").get<double>();
      const nlohmann::json& rng = checkpoint_field(meta, ckpt, "rng");
      rng_seed = rng.at("default_seed").get<uint64_t>();
      rng_offset = rng.at("default_offset").get<uint64_t>();
      if (meta.contains("metrics")) last_metrics = metrics_from_json(meta["metrics"]);
    } catch (const nlohmann::json::exception& e) {
      CUTTLE_FAIL("checkpoint '", ckpt, "': checkpoint.json is damaged: ", e.what());
    }
    load_checkpoint_model(ckpt, *model);
    load_checkpoint_optimizer(ckpt, *optimizer);
    if (ema) load_checkpoint_ema(ckpt, *ema);
    engine::default_generator().set_state(rng_seed, rng_offset);
    log.open((fs::path(run_dir) / "log.jsonl").string(), step);
    for (nlohmann::json& e : RunLog::read((fs::path(run_dir) / "log.jsonl").string())) history.push_back(e);
    for (const nlohmann::json& e : history)
      if (e.value("label", "") == "untrained") untrained_sm = e["metrics"].value("sm", 0.0);
    say("resumed    " + ckpt + " at step " + std::to_string(step) + " (epoch " + std::to_string(epoch + 1) + ")");
  }

  // ---- validation ----
  // The weights validation and the report use (the EMA's when it is on) in eval mode for the scope's
  // life; the training model gets its mode back at the end.
  struct EvalScope {
    State& s;
    const bool was_training;
    CamoXpert& model;
    explicit EvalScope(State& st)
        : s(st), was_training(st.model->is_training()), model(st.ema ? *st.eval_model : *st.model) {
      if (s.ema) s.ema->copy_to(*s.eval_model);
      model.eval();
    }
    ~EvalScope() {
      if (was_training) s.model->train();
    }
  };

  InferenceOptions inference_options() const {
    InferenceOptions io;
    io.image_size = cfg.image_size;
    io.batch = cfg.train.batch;
    io.device = opts.device;
    return io;
  }

  // What both loaders share: batch, size, threads, seed and target device.
  data::LoaderOptions loader_options(uint64_t seed) const {
    data::LoaderOptions lo;
    lo.batch_size = cfg.train.batch;
    lo.height = lo.width = cfg.image_size;
    lo.workers = opts.workers;
    lo.seed = seed;
    lo.device = opts.device;
    return lo;
  }

  // Precise BN (train.precise_bn_batches): the evaluated model's BatchNorm statistics recomputed over
  // fixed training batches with its current weights (layers::recalibrate_batch_norm puts back every
  // other buffer the forward moves); a frozen backbone keeps its statistics.
  void recalibrate_batch_norm(CamoXpert& m) {
    const int64_t batches = std::min(cfg.train.precise_bn_batches, train_data->size() / cfg.train.batch);
    if (batches <= 0) return;
    // Its own fixed batches, whatever the training order.
    data::DataLoader loader(train_data, loader_options(cfg.train.seed ^ 0x9b5c1e3dull));
    loader.start_epoch(0);
    autograd::NoGradGuard no_grad;
    m.train();
    if (epoch < cfg.train.freeze_backbone_epochs) m.backbone().eval();
    layers::recalibrate_batch_norm(m, batches, [&](int64_t) {
      std::optional<data::Batch> b = loader.next();
      CUTTLE_CHECK(b.has_value(), "precise BN: the training data ended early");
      m.forward(Var(b->images.to(opts.device)));
    });
    m.eval();
  }

  data::metrics::DatasetMetrics validate(const char* label) {
    EvalScope scope(*this);
    CamoXpert& m = scope.model;
    recalibrate_batch_norm(m);
    for (int64_t s = 0; s < 4; ++s) m.moe(s).reset_stats();
    const InferenceOptions io = inference_options();
    ProgressBar bar(std::string("  ") + label, val_data->size());
    DatasetEvaluation ev = evaluate_model(m, *val_data, io, {}, [&](int64_t done, int64_t) {
      if (opts.verbose) bar.update(done, "");
    });
    if (opts.verbose) bar.finish(fmt("%.0f img/s", val_data->size() / std::max(ev.seconds, 1e-9)));
    nlohmann::json usage = moe_usage_json(m);
    history.push_back({{"kind", "validation"}, {"step", step}, {"epoch", epoch}, {"label", label},
                       {"elapsed_s", seconds_since(start)},
                       {"metrics", metrics_json(ev.metrics)}, {"seconds", ev.seconds}, {"moe", usage}});
    log.write(history.back());
    say("  " + std::string(label) + ": " + metrics_line(ev.metrics));
    if (opts.verbose) std::printf("%s", format_moe_usage(usage).c_str());
    return ev.metrics;
  }

  bool low_res_phase() const { return cfg.train.low_res_size > 0 && cfg.train.low_res_size < cfg.image_size; }
  // The side of the inputs the next step trains on.
  int64_t input_size() const {
    return low_res_phase() && step < cfg.train.low_res_steps ? cfg.train.low_res_size : cfg.image_size;
  }

  // ---- one optimizer step; false when it was skipped (non-finite loss or gradient) ----
  // Leaves the model as it was before a step: no gradients, the buffers (BatchNorm statistics, balancing
  // bias) the step's forwards moved copied back.
  void undo_step(const std::vector<Tensor>& buffers_before) {
    optimizer->zero_grad();
    size_t i = 0;
    for (auto& [name, b] : model->named_buffers()) b.copy_(buffers_before[i++]);
  }

  // The loader's next batch. A file that cannot be read mid-run (the up-front check reads headers only)
  // undoes the step and becomes a LoaderFailure, which the loop answers by saving checkpoint_last.
  std::optional<data::Batch> next_batch(data::DataLoader& loader, const std::vector<Tensor>& buffers_before) {
    try {
      return loader.next();
    } catch (const Error& e) {  // a file that cannot be read, named in the message
      undo_step(buffers_before);
      throw LoaderFailure(e.what(), true);
    } catch (const std::exception& e) {  // out of memory, say
      undo_step(buffers_before);
      throw LoaderFailure(e.what(), false);
    }
  }

  bool train_step(data::DataLoader& loader, double& loss_out, nlohmann::json& terms_out, double& grad_norm,
                  const data::Batch* fixed) {
    double total = 0;
    std::vector<std::pair<std::string, double>> terms;
    bool finite = true;
    // A skipped step must leave no trace: the forward already moved BatchNorm's running statistics and
    // the balancing bias, and a NaN there would poison every later evaluation. Buffers are small.
    std::vector<Tensor> buffers_before;
    for (const auto& [name, b] : model->named_buffers()) buffers_before.push_back(b.clone());
    for (int64_t micro = 0; micro < cfg.train.accumulate; ++micro) {
      std::optional<data::Batch> b;
      if (fixed) b = *fixed;
      else b = next_batch(loader, buffers_before);
      CUTTLE_CHECK(b.has_value(), "training data ended inside an epoch (a loader bug)");
      Tensor images = b->images.to(opts.device), masks = b->masks.to(opts.device);
      if (const int64_t side = input_size(); side != cfg.image_size) {
        // Masks resized like the images: their soft edges are the targets the loss handles anyway.
        images = engine::resize_bilinear(images, side, side, false);
        masks = engine::resize_bilinear(masks, side, side, false);
      }
      CamoXpertOutput out = model->forward(Var(images));
      LossTerms loss = camoxpert_loss(out, masks, cfg.loss);
      // One read of every term (each a device sync on a GPU); the total comes first.
      const std::vector<std::pair<std::string, double>> values = loss.values();
      const double value = values.front().second;
      if (!std::isfinite(value)) {
        // The rest of the step's micro-batches are consumed unused, so later steps see their own data.
        for (int64_t rest = micro + 1; rest < cfg.train.accumulate && !fixed; ++rest) loader.next();
        finite = false;
        break;
      }
      total += value / cfg.train.accumulate;
      if (terms.empty()) terms = values;
      else
        for (size_t i = 0; i < terms.size(); ++i) terms[i].second += values[i].second;
      Var scaled = cfg.train.accumulate > 1 ? loss.total * (1.0 / cfg.train.accumulate) : loss.total;
      scaled.backward();
    }
    std::vector<Var> params = model->parameters(true);
    grad_norm = finite ? autograd::clip_grad_norm(params, cfg.train.clip > 0 ? cfg.train.clip : INFINITY) : NAN;
    if (!finite || !std::isfinite(grad_norm)) {
      undo_step(buffers_before);
      return false;
    }
    optimizer->set_lr(schedule.lr(step));
    optimizer->step();
    optimizer->zero_grad();
    if (ema) ema->update(*model);
    loss_out = total;
    terms_out = nlohmann::json::object();
    for (auto& [k, v] : terms) terms_out[k] = v / cfg.train.accumulate;
    return true;
  }

  void set_backbone_frozen(bool frozen) {
    model->backbone().set_requires_grad(!frozen);
    if (frozen) model->backbone().eval();  // BN on running statistics while frozen
  }

  void write_report(bool final_report) {
    ReportInputs in;
    in.title = cfg.name + " - " + fs::path(run_dir).filename().string();
    in.history = history;
    in.final_report = final_report;
    in.config = to_json(cfg);
    {
      EvalScope scope(*this);
      const InferenceOptions io = inference_options();
      const int64_t n = std::min<int64_t>(opts.report_images, val_data->size());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t idx = i * val_data->size() / std::max<int64_t>(n, 1);
        data::Sample s = val_data->get(idx);
        in.examples.push_back({s.name, s.image, s.mask, predict_maps(scope.model, {s.image}, io)[0]});
      }
    }
    write_report_html((fs::path(run_dir) / "report.html").string(), in);
  }
};

Trainer::Trainer(TrainerOptions options) : s_(std::make_unique<State>(std::move(options))) {}
Trainer::~Trainer() = default;

TrainResult Trainer::run() {
  State& s = *s_;
  CamoXpertConfig& cfg = s.cfg;
  cfg.validate(cfg.name);
  cfg.validate_training(cfg.name);
  const auto wall_start = Clock::now();
  s.say("device     " + engine::describe_device(s.opts.device));
  if (s.opts.device.is_cuda()) engine::set_cuda_math(cfg.train.tf32, s.opts.deterministic);
  s.say(std::string("precision  f32") +
        (s.opts.device.is_cuda() ? (cfg.train.tf32 ? " (TF32 tensor cores on)" : " (TF32 off)") : "") +
        (s.opts.deterministic ? ", deterministic" : ""));
  s.setup_data();
  s.setup_model();
  s.say("model      " + cfg.name + ": " + std::to_string(s.model->num_parameters()) + " parameters, " +
        std::to_string(cfg.image_size) + "x" + std::to_string(cfg.image_size) + " input, backbone " +
        cfg.backbone.type);
  s.setup_run_dir();
  s.say("run        " + s.run_dir);
  s.say("schedule   " + std::to_string(s.total_steps) + " steps (" + std::to_string(s.epochs) + " epoch(s) of " +
        std::to_string(s.steps_per_epoch) + "), batch " + std::to_string(cfg.train.batch) +
        (cfg.train.accumulate > 1 ? " x " + std::to_string(cfg.train.accumulate) + " accumulated" : "") +
        ", lr " + fmt("%.1e", cfg.train.lr) + ", warm-up " + std::to_string(s.schedule.warmup_steps) + " steps");
  if (s.low_res_phase() && cfg.train.low_res_steps > 0)
    s.say("resizing   the first " + std::to_string(std::min(cfg.train.low_res_steps, s.total_steps)) + " steps at " +
          std::to_string(cfg.train.low_res_size) + "x" + std::to_string(cfg.train.low_res_size) + ", the rest at " +
          std::to_string(cfg.image_size) + "x" + std::to_string(cfg.image_size));
  else if (cfg.train.low_res_size > 0 && cfg.train.low_res_steps > 0)
    s.say("resizing   off: train.low_res_size " + std::to_string(cfg.train.low_res_size) +
          " is not below the image size " + std::to_string(cfg.image_size));

  if (!s.opts.resume.empty()) {
    s.resume();
    s.result.run_dir = s.run_dir;
    // A run whose last checkpoint came before its final outputs (a crash in between) falls through
    // and writes them.
    if (s.step >= s.total_steps && fs::exists(fs::path(s.run_dir) / "metrics.json")) {
      // Nothing left to train: the run's metrics, report and run.json stay as they are.
      s.say("finished   the run already ended at step " + std::to_string(s.step) + " of " +
            std::to_string(s.total_steps) + "; nothing to train");
      s.result.final_metrics = s.last_metrics;
      s.result.best_sm = s.best_sm;
      s.result.steps = s.step;
      return s.result;
    }
    s.write_run_json();
  } else {
    s.log.open((fs::path(s.run_dir) / "log.jsonl").string());
    s.untrained_metrics = s.validate("untrained");
    s.untrained_sm = s.untrained_metrics.sm;
  }
  s.result.run_dir = s.run_dir;

  data::LoaderOptions lo = s.loader_options(cfg.train.seed);
  lo.shuffle = !s.opts.overfit_batch;
  lo.augment = !s.opts.overfit_batch;
  std::optional<data::Batch> fixed;
  if (s.opts.overfit_batch) fixed = data::load_batch(*s.train_data, 0, cfg.train.batch, lo);

  int64_t bad_in_a_row = 0;
  s.model->train();
  while (s.step < s.total_steps) {
    const bool frozen = s.epoch < cfg.train.freeze_backbone_epochs;
    s.model->train();
    s.set_backbone_frozen(frozen);
    for (int64_t m = 0; m < 4; ++m) s.model->moe(m).set_epoch(s.epoch);
    data::DataLoader loader(s.epoch_data(s.epoch), lo);
    loader.start_epoch(s.epoch, s.step_in_epoch * cfg.train.accumulate);
    const int64_t steps_this_epoch = std::min(s.steps_per_epoch, s.total_steps - (s.step - s.step_in_epoch));
    ProgressBar bar("epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(s.epochs) + (frozen ? " (frozen backbone)" : ""),
                    steps_this_epoch);
    double loss_ema = NAN;
    while (s.step_in_epoch < steps_this_epoch) {
      if (s.opts.stop && s.opts.stop->load()) {
        s.say("\ninterrupted at step " + std::to_string(s.step) + ": saving checkpoint_last");
        s.save("checkpoint_last");
        s.log.write({{"kind", "event"}, {"event", "interrupted"}, {"step", s.step}});
        s.result.interrupted = true;
        s.result.steps = s.step;
        s.result.best_sm = s.best_sm;
        return s.result;
      }
      double loss = 0, grad_norm = 0;
      nlohmann::json terms;
      const auto t0 = Clock::now();
      const int64_t input_size = s.input_size();
      bool ok = false;
      try {
        ok = s.train_step(loader, loss, terms, grad_norm, fixed ? &*fixed : nullptr);
      } catch (const LoaderFailure& e) {
        s.save("checkpoint_last");
        s.log.write({{"kind", "event"}, {"event", "data error"}, {"step", s.step}, {"message", e.what()}});
        CUTTLE_FAIL(e.what(), "\ntraining stopped at step ", s.step, "; its weights are in ", s.run_dir,
                    "/checkpoint_last. ",
                    e.file_problem ? "Replace the file with a readable copy (removing it would change the held-out "
                                     "validation split and the order of the epochs) and continue with --resume "
                                   : "Continue with --resume ",
                    s.run_dir, " (it trains on the run's own data roots)");
      }
      const double dt = seconds_since(t0);
      if (!ok) {
        ++bad_in_a_row;
        s.log.write({{"kind", "event"}, {"event", "non-finite loss or gradient: step skipped"}, {"step", s.step},
                     {"in_a_row", bad_in_a_row}});
        std::fprintf(stderr, "\nwarning: step %lld: non-finite loss or gradient, step skipped (%lld in a row)\n",
                     (long long)s.step, (long long)bad_in_a_row);
        if (bad_in_a_row >= s.opts.max_bad_steps) {
          s.save("checkpoint_last");
          CUTTLE_FAIL("training diverged: ", bad_in_a_row, " steps in a row had a non-finite loss or gradient (step ",
                      s.step, "); the weights before them are in ", s.run_dir,
                      "/checkpoint_last. Lower the learning rate (--lr) or check the data.");
        }
        // The data of a skipped step is consumed; its place in the epoch counts as done.
        ++s.step_in_epoch;
        continue;
      }
      bad_in_a_row = 0;
      ++s.step;
      ++s.step_in_epoch;
      s.result.step_losses.push_back(loss);
      if (s.opts.on_step) s.opts.on_step(s.step, loss);
      loss_ema = std::isnan(loss_ema) ? loss : 0.9 * loss_ema + 0.1 * loss;
      const double ips = cfg.train.batch * cfg.train.accumulate / std::max(dt, 1e-9);
      if (s.step % s.opts.log_every == 0 || s.step == s.total_steps) {
        nlohmann::json e = {{"kind", "step"}, {"step", s.step}, {"epoch", s.epoch}, {"loss", loss}, {"terms", terms},
                            {"lr", s.optimizer->lr()}, {"grad_norm", grad_norm}, {"images_per_s", ips}, {"input_size", input_size},
                            {"memory", engine::memory_stats(s.opts.device)}, {"elapsed_s", seconds_since(s.start)}};
        s.log.write(e);
        s.history.push_back(e);
      }
      if (s.opts.verbose)
        bar.update(s.step_in_epoch, "loss " + fmt("%.4f", loss_ema) + "  lr " + fmt("%.2e", s.optimizer->lr()) + "  " +
                                        fmt("%.1f", ips) + " img/s");
    }
    if (s.opts.verbose) bar.finish("loss " + fmt("%.4f", loss_ema));
    // End of an epoch (or of the run): validate, checkpoint.
    ++s.epoch;
    s.step_in_epoch = 0;
    s.last_metrics = s.validate(("validation after epoch " + std::to_string(s.epoch)).c_str());
    if (s.last_metrics.sm > s.best_sm) {
      s.best_sm = s.last_metrics.sm;
      s.save("checkpoint_best");
    }
    s.save("checkpoint_last");
    s.write_report(false);
  }

  if (s.history.empty() || s.history.back().value("kind", "") != "validation")
    s.last_metrics = s.validate("final validation");
  engine::write_file_atomic((fs::path(s.run_dir) / "metrics.json").string(),
                            nlohmann::json({{"validation", metrics_json(s.last_metrics)}, {"best_sm", s.best_sm},
                                            {"steps", s.step}, {"dataset", s.val_data->name()},
                                            {"wall_seconds", seconds_since(wall_start)}})
                                    .dump(2) + "\n");
  s.write_report(true);
  s.say("done       " + std::to_string(s.step) + " steps in " + ProgressBar::format_duration(seconds_since(wall_start)) +
        "; final " + metrics_line(s.last_metrics) +
        (std::isnan(s.untrained_sm) ? "" : " (untrained S " + fmt("%.4f", s.untrained_sm) + ")"));
  s.say("outputs    " + s.run_dir + "/{checkpoint_best,checkpoint_last,metrics.json,log.jsonl,report.html}");
  s.result.final_metrics = s.last_metrics;
  s.result.untrained_metrics = s.untrained_metrics;
  s.result.best_sm = s.best_sm;
  s.result.steps = s.step;
  return s.result;
}

}  // namespace cuttle::models
