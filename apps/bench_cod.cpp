// bench_cod: times a whole CamoXpert training step (forward, loss, backward, gradient clipping, AdamW)
// and inference (eval mode, no tape, sigmoid of the final map) for each batch size given, with the
// median wall time of the timed repetitions, images per second and the peak device memory.
// tools/bench_cod_torch.py times the PyTorch twin with the same rows; --tsv writes cuttle's rows for it.
#include <CLI/CLI.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "apps/bench_timer.h"
#include "apps/branch_streams_option.h"
#include "apps/shipped_config.h"
#include "autograd/functions/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/optim/adamw.h"
#include "autograd/optim/clip_grad.h"
#include "engine/op_trace.h"
#include "engine/random.h"
#include "engine/system_info.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cudnn_graph_conv.h"
#endif
#include "models/config_overrides.h"
#include "models/loss.h"
#include "models/model_factory.h"

using namespace cuttle;
using engine::Tensor;

namespace {

struct Row {
  std::string pass;
  int64_t batch;
  bench::Timing t;
  double peak_mib;
};

// A batch of random images (the input normalisation's range) and masks holding one ellipse each: the
// content only steers the routing, which the balancing keeps near uniform anyway.
std::pair<Tensor, Tensor> make_batch(int64_t batch, int64_t size, engine::Device device) {
  engine::Generator gen(7);
  Tensor images = engine::normal({batch, 3, size, size}, 0.0, 1.0, engine::DType::f32, &gen);
  std::vector<float> m(batch * size * size);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) {
        const double cy = size * (0.4 + 0.02 * (b % 5)), cx = size * 0.5, ry = size * 0.25, rx = size * 0.3;
        const double d = (y - cy) * (y - cy) / (ry * ry) + (x - cx) * (x - cx) / (rx * rx);
        m[(b * size + y) * size + x] = d <= 1 ? 1.f : 0.f;
      }
  Tensor masks = Tensor::from_vector(m, {batch, 1, size, size});
  return {images.to(device), masks.to(device)};
}

// Prints the engine ops of one call (after a warm-up call), in all and by frequency.
void print_op_counts(const char* what, int64_t batch, const std::function<void()>& call) {
  const std::map<std::string, int64_t> counts = engine::count_ops(call);
  std::printf("%s, batch %lld: %lld engine ops: %s\n", what, (long long)batch,
              (long long)engine::OpTrace::total_ops(counts), engine::ops_by_frequency(counts).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_cod: median time of a CamoXpert training step (forward, loss, backward, clip, AdamW) "
               "and of inference, per batch size"};
  std::string config = "camoxpert-pvt-b2", device_name = "auto", tsv_path, tf32 = "on";
  std::vector<int64_t> batches{16, 1};
  std::vector<std::string> overrides;
  int64_t image_size = 0;
  int warmup = 3, reps = 10;
  bool skip_train = false, skip_infer = false;
  app.add_option("--config", config, "config file or shipped config name")->capture_default_str();
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto")->capture_default_str();
  app.add_option("--batch", batches, "batch sizes, each timed for training and inference")->capture_default_str();
  app.add_option("--image-size", image_size, "input side, a multiple of 32 (0 = the config's)")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed calls first (cuDNN choices, allocator warm-up)")->capture_default_str();
  app.add_option("--reps", reps, "timed calls; the median is reported")->capture_default_str();
  app.add_option("--tf32", tf32, "on|off: TF32 tensor cores for f32 convolutions and GEMMs (CUDA)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  std::string cudnn_benchmark = "off";
  app.add_option("--cudnn-benchmark", cudnn_benchmark,
                 "on|off: time cuDNN's convolution algorithms once per shape bucket (the warm-up calls pay "
                 "for it) instead of its heuristics (match bench_cod_torch.py --cudnn-benchmark)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  int plan_search = 0;
  app.add_option("--cudnn-plan-search", plan_search,
                 "CUDA: engine configurations the first use of a convolution shape times (0 = the default)");
  apps::add_branch_streams_option(app);
  bool cudnn_legacy = false;
  app.add_flag("--cudnn-legacy", cudnn_legacy,
               "CUDA: convolutions through cuDNN's legacy API (cudnnConvolutionForward & co.) instead of its graph API");
  app.add_option("--set", overrides, "override a config field, e.g. --set moe.mode=dense_soft");
  app.add_flag("--skip-train", skip_train, "time inference only");
  app.add_flag("--skip-infer", skip_infer, "time the training step only");
  app.add_option("--tsv", tsv_path, "write the rows here (for tools/bench_cod_torch.py --cuttle)");
  bool op_counts = false;
  app.add_flag("--op-counts", op_counts, "count the engine ops (about one kernel each on a GPU) of one training "
                                         "step and one inference instead of timing");
  CLI11_PARSE(app, argc, argv);

  try {
    const engine::Device device = engine::parse_device(device_name);
    std::vector<std::string> all = overrides;
    if (image_size > 0) all.push_back("image_size=" + std::to_string(image_size));
    const models::CamoXpertConfig cfg = models::load_config(apps::find_shipped_config(config), all);
    engine::set_cuda_math(tf32 == "on", false);
    engine::set_conv_benchmark(cudnn_benchmark == "on");
#ifdef CUTTLE_WITH_CUDA
    engine::cuda::set_cudnn_graph_api(!cudnn_legacy);
    if (plan_search > 0) engine::cuda::set_cudnn_plan_search(plan_search);
#endif
    std::printf("bench_cod: %s, %lldx%lld, MoE %s top-%lld, %s, f32%s, %d side streams; %d warm-up + %d timed "
                "calls, median\n", cfg.name.c_str(), (long long)cfg.image_size, (long long)cfg.image_size,
                cfg.moe.mode.c_str(), (long long)cfg.moe.top_k, engine::describe_device(device).c_str(),
                device.is_cuda() ? (tf32 == "on" ? " with TF32" : ", TF32 off") : "",
                device.is_cuda() ? engine::branch_streams() : 0, warmup, reps);
    std::vector<Row> rows;
    for (int64_t batch : batches) {
      engine::Generator gen(cfg.train.seed);
      std::shared_ptr<models::CamoXpert> model = models::make_camoxpert(cfg, gen);
      model->to(device);
      std::printf("parameters %lld\n", (long long)model->num_parameters());
      auto [images, masks] = make_batch(batch, cfg.image_size, device);
      if (!skip_train) {
        autograd::AdamWOptions ao;
        ao.lr = cfg.train.lr;
        ao.weight_decay = cfg.train.weight_decay;
        autograd::AdamW opt(models::camoxpert_param_groups(*model, cfg.train), ao);
        model->train();
        auto step = [&] {
          models::CamoXpertOutput out = model->forward(autograd::Var(images));
          models::LossTerms loss = models::camoxpert_loss(out, masks, cfg.loss);
          (void)loss.total.data().item();  // train_cod reads the loss every step
          loss.total.backward();
          std::vector<autograd::Var> params = model->parameters(true);
          autograd::clip_grad_norm(params, cfg.train.clip > 0 ? cfg.train.clip : INFINITY);
          opt.step();
          opt.zero_grad();
        };
        if (op_counts) {
          print_op_counts("training step", batch, step);
        } else {
          // The first step allocates the optimizer moments (not part of the peak reset below) and makes
          // the cuDNN choices: its time shows what a cold start costs (cudnnFind when benchmarking).
          const bench::Timing first = bench::time_it(step, 0, 1, device, /*wall=*/true);
          std::printf("first training step (batch %lld): %.0f ms\n", (long long)batch, first.median_ms);
          engine::reset_peak_memory(device);
          // Wall time, the device drained after each call: a training step also reads its loss and
          // gradient norm, as train_cod's does, so host and device work both count.
          const bench::Timing t = bench::time_it(step, warmup, reps, device, /*wall=*/true);
          rows.push_back({"train", batch, t, engine::memory_stats(device).value("peak_mib", 0.0)});
        }
      }
      if (!skip_infer) {
        model->eval();
        autograd::NoGradGuard no_grad;
        auto infer = [&] { (void)autograd::sigmoid(model->forward(autograd::Var(images)).logits).data(); };
        if (op_counts) {
          print_op_counts("inference", batch, infer);
          continue;  // the last pass of this batch
        }
        engine::reset_peak_memory(device);
        const bench::Timing t = bench::time_it(infer, warmup, reps, device, /*wall=*/true);
        rows.push_back({"infer", batch, t, engine::memory_stats(device).value("peak_mib", 0.0)});
      }
    }
    std::printf("\n| pass | batch | median ms | min ms | images/s | peak MiB |\n|---|---:|---:|---:|---:|---:|\n");
    for (const Row& r : rows)
      std::printf("| %s | %lld | %.2f | %.2f | %.1f | %.0f |\n", r.pass.c_str(), (long long)r.batch, r.t.median_ms,
                  r.t.min_ms, r.batch / (r.t.median_ms * 1e-3), r.peak_mib);
    if (!tsv_path.empty()) {
      std::ofstream tsv(tsv_path);
      CUTTLE_CHECK(tsv.good(), "bench_cod: cannot write ", tsv_path);
      tsv << "pass\tbatch\tmedian_ms\tmin_ms\tpeak_mib\n";
      for (const Row& r : rows)
        tsv << r.pass << "\t" << r.batch << "\t" << r.t.median_ms << "\t" << r.t.min_ms << "\t" << r.peak_mib << "\n";
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cod: %s\n", e.what());
    return 1;
  }
  return 0;
}
