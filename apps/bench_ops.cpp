// bench_ops: micro-benchmarks of the ops the COD models spend their time in. Two lists: "micro" (the
// CPU figures of docs/PERFORMANCE.md: conv2d forward and backward, GEMM, LayerNorm2d, element-wise) and
// "model" (CamoXpert's shapes at 352x352, forward and backward, apps/bench_model_ops.h; the default
// with --device cuda). Prints the median time per call; --tsv writes the rows for tools/bench_compare.py.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "apps/bench_model_ops.h"
#include "apps/bench_timer.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/norm.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "engine/system_info.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/cudnn_graph_conv.h"
#endif

using namespace cuttle;
using engine::Tensor;

namespace {

using bench::Timing;

Timing time_it(const std::function<void()>& fn, int warmup, int reps) {
  return bench::time_it(fn, warmup, reps, engine::Device::cpu());
}

void report(const std::string& name, const std::string& shape, const Timing& t, double flops) {
  std::printf("| %-28s | %-26s | %9.3f | %9.3f |", name.c_str(), shape.c_str(), t.median_ms, t.min_ms);
  if (flops > 0) std::printf(" %8.1f |\n", flops / (t.median_ms * 1e-3) / 1e9);
  else std::printf("        - |\n");
  std::fflush(stdout);
}


// Runs the model list: one row per pass, "n/a" where the device has no kernel for the op (the error
// goes to stderr and the remaining passes run).
int run_model(engine::Device device, int64_t batch, int warmup, int reps, const std::string& tsv_path,
              const std::string& only) {
  std::ofstream tsv;
  if (!tsv_path.empty()) {
    tsv.open(tsv_path);
    if (!tsv) {
      std::fprintf(stderr, "bench_ops: cannot write %s\n", tsv_path.c_str());
      return 1;
    }
    tsv << "op\tshape\tpass\tmedian_ms\tmin_ms\tbytes\n";
  }
  std::printf("bench_ops (model list): %s, batch %lld, %d warm-up + %d timed calls (median and min in ms)\n\n",
              device.str().c_str(), (long long)batch, warmup, reps);
  std::printf("| %-26s | %-18s | %-8s | %9s | %9s | %7s |\n", "op", "input", "pass", "median ms", "min ms", "GB/s");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(28, '-').c_str(), std::string(20, '-').c_str(),
              std::string(10, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(9, '-').c_str());
  int failures = 0;
  for (const bench::BenchPass& p : bench::model_passes(device, batch)) {
    if (!bench::row_selected(p.op + " " + p.shape + " " + p.pass, only)) continue;
    std::string med = "n/a", mn = "n/a", gbs = "-";
    try {
      const std::function<void()> fn = p.prepare();
      const Timing t = bench::time_it(fn, warmup, reps, device);
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.4f", t.median_ms);
      med = buf;
      std::snprintf(buf, sizeof buf, "%.4f", t.min_ms);
      mn = buf;
      if (p.bytes > 0) {
        std::snprintf(buf, sizeof buf, "%.0f", p.bytes / (t.median_ms * 1e-3) / 1e9);
        gbs = buf;
      }
    } catch (const cuttle::Error& e) {
      std::string what = e.what();
      if (what.size() > 160) what = what.substr(0, 160) + "...";
      std::fprintf(stderr, "bench_ops: %s %s %s: n/a (%s)\n", p.op.c_str(), p.shape.c_str(), p.pass.c_str(),
                   what.c_str());
      ++failures;
    }
    std::printf("| %-26s | %-18s | %-8s | %9s | %9s | %7s |\n", p.op.c_str(), p.shape.c_str(), p.pass.c_str(),
                med.c_str(), mn.c_str(), gbs.c_str());
    std::fflush(stdout);
    if (tsv) tsv << p.op << '\t' << p.shape << '\t' << p.pass << '\t' << med << '\t' << mn << '\t' << p.bytes << '\n';
  }
  if (failures) std::printf("\n%d passes n/a (no kernel on %s yet; details on stderr)\n", failures, device.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_ops: op micro-benchmarks (median ms per call)"};
  int warmup = 5, reps = 21, threads = 0;
  int64_t batch = 16;
  std::string device_name = "cpu", list, tsv;
  app.add_option("--warmup", warmup, "untimed calls before timing")->capture_default_str();
  app.add_option("--reps", reps, "timed calls; the median is reported")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  app.add_option("--device", device_name, "cpu or cuda (cuda:N for another GPU)")->capture_default_str();
  app.add_option("--list", list, "micro (CPU figures of PERFORMANCE.md) or model (CamoXpert shapes); "
                                 "default: micro on the CPU, model on a GPU")
      ->check(CLI::IsMember({"micro", "model"}));
  app.add_option("--batch", batch, "batch size of the model list")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--tsv", tsv, "also write the model list's rows to this tab-separated file");
  bool cudnn_benchmark = false;
  app.add_flag("--cudnn-benchmark", cudnn_benchmark,
               "CUDA: time cuDNN's convolution algorithms once per shape bucket instead of its heuristics "
               "(match bench_ops_torch.py --cudnn-benchmark)");
  bool cudnn_legacy = false;
  app.add_flag("--cudnn-legacy", cudnn_legacy,
               "CUDA: convolutions through cuDNN's legacy API (cudnnConvolutionForward & co.) instead of its graph API");
  int64_t workspace_mib = 0;
  app.add_option("--cudnn-workspace-mib", workspace_mib, "CUDA: cap on a convolution's workspace (0 = the default)");
  bool tf32 = false;
  app.add_flag("--tf32", tf32, "CUDA: allow TF32 in cuDNN and cuBLAS (match bench_ops_torch.py --tf32)");
  int plan_search = 0;
  app.add_option("--cudnn-plan-search", plan_search,
                 "CUDA: engine configurations the first use of a convolution shape times (0 = the default)");
  std::string only;
  app.add_option("--only", only, "model list: run only the rows whose \"op shape pass\" contains this text (or one "
                                 "of several separated by '|')");
  CLI11_PARSE(app, argc, argv);
  engine::set_conv_benchmark(cudnn_benchmark);
  engine::set_cuda_math(tf32, false);
#ifdef CUTTLE_WITH_CUDA
  engine::cuda::set_cudnn_graph_api(!cudnn_legacy);
  if (plan_search > 0) engine::cuda::set_cudnn_plan_search(plan_search);
  if (workspace_mib > 0) engine::cuda::set_cudnn_workspace_limit((size_t)workspace_mib << 20);
#else
  if (cudnn_legacy || workspace_mib > 0) std::fprintf(stderr, "bench_ops: cuDNN options need the CUDA build; ignored\n");
#endif
  if (threads > 0) engine::set_num_threads(threads);
  engine::Device device = engine::Device::cpu();
  if (device_name.rfind("cuda", 0) == 0) {
    const int index = device_name.size() > 5 && device_name[4] == ':' ? std::stoi(device_name.substr(5)) : 0;
    device = engine::Device::cuda(index);
#ifdef CUTTLE_WITH_CUDA
    if (!engine::cuda::available()) {
      std::fprintf(stderr, "bench_ops: no CUDA device visible\n");
      return 1;
    }
#else
    std::fprintf(stderr, "bench_ops: built without the CUDA backend\n");
    return 1;
#endif
  } else if (device_name != "cpu") {
    std::fprintf(stderr, "bench_ops: unknown device '%s' (cpu or cuda[:N])\n", device_name.c_str());
    return 1;
  }
  if (list.empty()) list = device.is_cpu() ? "micro" : "model";
  if (list == "model") {
    try {
      return run_model(device, batch, warmup, reps, tsv, only);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_ops: %s\n", e.what());
      return 1;
    }
  }
  if (!device.is_cpu()) {
    std::fprintf(stderr, "bench_ops: the micro list runs on the CPU only\n");
    return 1;
  }

  try {
    engine::Generator gen(0);
    std::printf("bench_ops: %d threads, %d reps (median and min in ms)\n\n", engine::num_threads(), reps);
    std::printf("| %-28s | %-26s | %9s | %9s | %8s |\n", "op", "shape", "median ms", "min ms", "GFLOP/s");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(28, '-').c_str(),
                std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(10, '-').c_str());

    // conv2d 3x3 64->64 on [8,64,56,56], padding 1.
    Tensor x = engine::normal({8, 64, 56, 56}, 0, 1, engine::DType::f32, &gen);
    Tensor w = engine::normal({64, 64, 3, 3}, 0, 0.05, engine::DType::f32, &gen);
    Tensor b = engine::normal({64}, 0, 0.05, engine::DType::f32, &gen);
    engine::Conv2dParams p;
    p.pad_h = p.pad_w = 1;
    Tensor y = engine::conv2d(x, w, b, p);
    Tensor gy = engine::normal(y.shape(), 0, 1, engine::DType::f32, &gen);
    const double conv_flops = 2.0 * 8 * 64 * 56 * 56 * 64 * 9;
    const std::string conv_shape = "[8,64,56,56] k3 64->64";
    report("conv2d forward", conv_shape, time_it([&] { engine::conv2d(x, w, b, p); }, warmup, reps), conv_flops);
    report("conv2d backward input", conv_shape,
           time_it([&] { engine::conv2d_backward_input(gy, w, x.shape(), p); }, warmup, reps), conv_flops);
    report("conv2d backward weight", conv_shape,
           time_it([&] { engine::conv2d_backward_weight(gy, x, w.shape(), p); }, warmup, reps), conv_flops);

    // Depthwise 3x3, the CODHybrid / Contrast shape.
    Tensor wd = engine::normal({64, 1, 3, 3}, 0, 0.1, engine::DType::f32, &gen);
    engine::Conv2dParams pd = p;
    pd.groups = 64;
    report("conv2d depthwise forward", "[8,64,56,56] k3 g64",
           time_it([&] { engine::conv2d(x, wd, Tensor(), pd); }, warmup, reps), 2.0 * 8 * 64 * 56 * 56 * 9);

    // GEMM 1024^3.
    Tensor a = engine::normal({1024, 1024}, 0, 1, engine::DType::f32, &gen);
    Tensor c = engine::normal({1024, 1024}, 0, 1, engine::DType::f32, &gen);
    report("matmul", "[1024,1024]x[1024,1024]", time_it([&] { engine::matmul(a, c); }, warmup, reps),
           2.0 * 1024 * 1024 * 1024);

    // LayerNorm2d forward and backward on the conv shape.
    Tensor gamma = Tensor::ones({64}), beta = Tensor::zeros({64});
    engine::LayerNormResult ln = engine::layer_norm2d(x, gamma, beta);
    report("layer_norm2d forward", "[8,64,56,56]", time_it([&] { engine::layer_norm2d(x, gamma, beta); }, warmup, reps), 0);
    report("layer_norm2d backward", "[8,64,56,56]",
           time_it([&] { engine::layer_norm2d_backward(gy, x, gamma, ln.mean, ln.invstd); }, warmup, reps), 0);

    // Single-pass element-wise references.
    report("gelu forward", "[8,64,56,56]", time_it([&] { engine::unary(engine::UnaryOp::gelu, x); }, warmup, reps), 0);
    report("add", "[8,64,56,56]", time_it([&] { engine::add(x, gy); }, warmup, reps), 0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ops: %s\n", e.what());
    return 1;
  }
  return 0;
}
