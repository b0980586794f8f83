// bench_ops: CPU micro-benchmarks of the ops the COD models spend their time in (conv2d forward and
// backward, GEMM, LayerNorm2d, element-wise). Prints the median time per call over repeated runs.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/norm.h"
#include "engine/parallel.h"
#include "engine/random.h"

using namespace cuttle;
using engine::Tensor;

namespace {

struct Timing {
  double median_ms, min_ms;
};

Timing time_it(const std::function<void()>& fn, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

void report(const std::string& name, const std::string& shape, const Timing& t, double flops) {
  std::printf("| %-28s | %-26s | %9.3f | %9.3f |", name.c_str(), shape.c_str(), t.median_ms, t.min_ms);
  if (flops > 0) std::printf(" %8.1f |\n", flops / (t.median_ms * 1e-3) / 1e9);
  else std::printf("        - |\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_ops: CPU op micro-benchmarks (median ms per call)"};
  int warmup = 5, reps = 21, threads = 0;
  app.add_option("--warmup", warmup, "untimed calls before timing")->capture_default_str();
  app.add_option("--reps", reps, "timed calls; the median is reported")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) engine::set_num_threads(threads);

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
