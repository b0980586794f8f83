// GPU tests (label "gpu"): convolution through cuDNN and cuttle's own depthwise, narrow 3x3 and 1x1 forwards
// compared with the CPU backend (forward, input,
// weight and bias gradients; stride, padding, dilation, groups, depthwise; odd sizes, empty and
// non-contiguous inputs), the algorithm cache and its switches (one plan search per shape, even when
// threads meet it at once), and the cuDNN version warning. Cases
// named "sanitize: ..." use small shapes and form the compute-sanitizer subset (scripts/gpu_check.sh).
#include <thread>

#include "engine/ops/conv.h"
#include "engine/streams.h"
#include "tests/gpu/gpu_test_util.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cublas.h"
#include "engine/cuda/conv_form.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/cudnn_graph_conv.h"
#include "engine/cuda/cudnn_handle.h"
#include "engine/cuda/gemm_conv.h"
#endif

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

namespace {

struct ConvCase {
  Shape x;  // [N, C, H, W]
  int64_t out, kh, kw;
  eng::Conv2dParams p;
};

eng::Conv2dParams params(int64_t s, int64_t pad, int64_t dil, int64_t groups) {
  eng::Conv2dParams p;
  p.stride_h = p.stride_w = s;
  p.pad_h = p.pad_w = pad;
  p.dil_h = p.dil_w = dil;
  p.groups = groups;
  return p;
}

// f32 tolerance: cuDNN may pick FFT or Winograd algorithms whose transforms round differently from a
// direct sum (errors of a few 1e-6 relative to the largest output on these sizes); 1e-4 leaves margin
// and still catches any indexing error, which is O(1). f64: all algorithms agree to ~1e-14.
double conv_tol(DType dt) { return dt == DType::f32 ? 1e-4 : 1e-10; }

#ifdef CUTTLE_WITH_CUDA
// Sets the forms of the forward and the input gradient for a scope: the tests that count cuDNN
// queries or plan searches run the direct forms, whose operations are one query each (a flipped
// form queries the other operation's problem).
struct ConvFormScope {
  eng::cuda::ConvForm saved_forward = eng::cuda::conv_form(eng::cuda::ConvKind::forward);
  eng::cuda::ConvForm saved_backward_data = eng::cuda::conv_form(eng::cuda::ConvKind::backward_data);
  ConvFormScope(eng::cuda::ConvForm forward, eng::cuda::ConvForm backward_data) {
    eng::cuda::set_conv_form(eng::cuda::ConvKind::forward, forward);
    eng::cuda::set_conv_form(eng::cuda::ConvKind::backward_data, backward_data);
  }
  ~ConvFormScope() {
    eng::cuda::set_conv_form(eng::cuda::ConvKind::forward, saved_forward);
    eng::cuda::set_conv_form(eng::cuda::ConvKind::backward_data, saved_backward_data);
  }
};
#endif

// Forward with and without bias and the three gradients, GPU vs CPU, outputs poisoned.
void check_conv(const ConvCase& c, DType dt, uint64_t seed) {
  const Shape ws = {c.out, c.x[1] / c.p.groups, c.kh, c.kw};
  Tensor x = randn(c.x, seed, dt), w = randn(ws, seed + 1, dt), b = randn({c.out}, seed + 2, dt);
  const Shape ys = eng::conv2d_output_shape(c.x, ws, c.p);
  Tensor gy = randn(ys, seed + 3, dt);
  const double tol = conv_tol(dt);
  INFO("x ", eng::shape_str(c.x), " w ", eng::shape_str(ws), " stride ", c.p.stride_h, " pad ", c.p.pad_h, " dil ", c.p.dil_h,
       " groups ", c.p.groups, " ", eng::dtype_name(dt));
  Poison poison;
  const Tensor xg = x.to(kGpu), wg = w.to(kGpu), bg = b.to(kGpu), gyg = gy.to(kGpu);
  CHECK(rel_err(eng::conv2d(xg, wg, bg, c.p), eng::conv2d(x, w, b, c.p)) <= tol);
  CHECK(rel_err(eng::conv2d(xg, wg, Tensor(), c.p), eng::conv2d(x, w, Tensor(), c.p)) <= tol);
  CHECK(rel_err(eng::conv2d_backward_input(gyg, wg, c.x, c.p), eng::conv2d_backward_input(gy, w, c.x, c.p)) <= tol);
  CHECK(rel_err(eng::conv2d_backward_weight(gyg, xg, ws, c.p), eng::conv2d_backward_weight(gy, x, ws, c.p)) <= tol);
  // Bias gradient: a per-channel sum in double on both sides.
  CHECK(rel_err(eng::conv2d_backward_bias(gyg), eng::conv2d_backward_bias(gy)) <= (dt == DType::f32 ? 1e-6 : 1e-12));
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cudnn conv2d forward and gradients match the CPU on small shapes") {
  if (!gpu_present()) return;
  eng::Conv2dParams asym = params(1, 0, 1, 1);
  asym.stride_h = 2;
  asym.pad_h = 1;
  asym.dil_w = 2;
  eng::Conv2dParams narrow_asym = params(1, 2, 1, 1);
  narrow_asym.dil_h = 2;
  narrow_asym.pad_w = 0;
  narrow_asym.dil_w = 1;
  eng::Conv2dParams asym_depthwise = asym;
  asym_depthwise.pad_w = 3;
  asym_depthwise.groups = 2;
  const std::vector<ConvCase> cases = {
      {{1, 1, 1, 1}, 1, 1, 1, params(1, 0, 1, 1)},    // smallest
      {{2, 3, 7, 7}, 5, 3, 3, params(1, 1, 1, 1)},    // 3x3 same
      {{3, 4, 9, 7}, 6, 3, 3, params(2, 1, 1, 2)},    // stride 2, groups 2
      {{2, 8, 11, 9}, 8, 3, 3, params(1, 2, 2, 8)},   // depthwise, dilation 2
      {{1, 6, 33, 17}, 6, 5, 5, params(1, 2, 1, 6)},  // depthwise 5x5
      {{2, 5, 7, 7}, 7, 7, 7, params(1, 3, 1, 1)},    // 7x7
      {{2, 4, 13, 13}, 3, 3, 3, params(1, 4, 4, 1)},  // dilation 4
      {{1, 3, 8, 8}, 3, 1, 1, params(1, 0, 1, 1)},    // 1x1
      {{2, 16, 9, 9}, 32, 1, 1, params(2, 0, 1, 1)},  // 1x1 stride 2
      {{1, 2, 5, 6}, 4, 3, 1, asym},                  // per-axis stride, padding, dilation
      {{3, 6, 4, 5}, 9, 2, 3, params(1, 1, 1, 3)},    // even kernel, groups 3
      // cuttle's depthwise kernel: several 32x32 output tiles with partial edges, stride 2, 7x7 with
      // per-axis stride/padding/dilation; a channel multiplier of 2 and an even kernel stay on cuDNN.
      {{2, 3, 70, 45}, 3, 3, 3, params(1, 1, 1, 3)},
      {{1, 4, 41, 37}, 4, 3, 3, params(2, 1, 1, 4)},
      {{1, 2, 40, 23}, 2, 7, 7, asym_depthwise},
      {{1, 3, 9, 9}, 6, 3, 3, params(1, 1, 1, 3)},
      {{1, 3, 9, 9}, 3, 4, 4, params(1, 1, 1, 3)},
      // The narrow 3x3 kernel (16 or 32 outputs, up to 32 inputs, stride 1): tile edges, a partial
      // chunk of input channels, dilation with matching padding, no padding, per-axis padding/dilation.
      {{2, 3, 20, 37}, 16, 3, 3, params(1, 1, 1, 1)},
      {{1, 16, 19, 9}, 16, 3, 3, params(1, 4, 4, 1)},
      {{1, 32, 9, 33}, 32, 3, 3, params(1, 0, 1, 1)},
      {{2, 5, 12, 10}, 32, 3, 3, narrow_asym},
      // 1x1 through cuBLAS in all three directions (the weight gradient per sample, then summed): batch
      // of 3, odd pixel counts; batch 1 (no sum) is the {1, 3, 8, 8} case above.
      {{3, 5, 7, 9}, 11, 1, 1, params(1, 0, 1, 1)},
  };
  uint64_t seed = 100;
  for (DType dt : {DType::f32, DType::f64})
    for (const ConvCase& c : cases) check_conv(c, dt, seed += 10);
}

TEST_CASE("cudnn conv2d matches the CPU at model-like sizes and changing batch sizes") {
  if (!gpu_present()) return;
  // The CamoXpert head's shapes at a reduced resolution; batch sizes change as the MoE's do.
  uint64_t seed = 300;
  for (int64_t n : {5, 1, 3}) {
    check_conv({{n, 32, 44, 44}, 32, 3, 3, params(1, 1, 1, 1)}, DType::f32, seed += 10);
    check_conv({{n, 32, 44, 44}, 32, 3, 3, params(1, 8, 8, 32)}, DType::f32, seed += 10);  // depthwise dilated
    check_conv({{n, 32, 44, 44}, 64, 1, 1, params(1, 0, 1, 1)}, DType::f32, seed += 10);
    check_conv({{n, 16, 44, 44}, 16, 7, 7, params(1, 3, 1, 1)}, DType::f32, seed += 10);
  }
  // The experts' narrow dilated convolutions at a model-like size.
  for (int64_t d : {2, 8}) check_conv({{3, 16, 44, 44}, 16, 3, 3, params(1, d, d, 1)}, DType::f32, seed += 10);
  // More (sample, channel) planes than one grid dimension holds (65535): the depthwise kernel loops.
  check_conv({{2, 33000, 3, 3}, 33000, 3, 3, params(1, 1, 1, 33000)}, DType::f32, seed += 10);
  // 1x1 forward on TF32 (the GEMM follows the switch; 10-bit mantissa inputs, so a looser bound).
#ifdef CUTTLE_WITH_CUDA
  eng::cuda::set_allow_tf32(true);
  Tensor x = randn({2, 64, 20, 20}, 390, DType::f32), w = randn({32, 64, 1, 1}, 391, DType::f32);
  CHECK(rel_err(eng::conv2d(x.to(kGpu), w.to(kGpu), Tensor(), params(1, 0, 1, 1)),
                eng::conv2d(x, w, Tensor(), params(1, 0, 1, 1))) <= 5e-3);
  eng::cuda::set_allow_tf32(false);
#endif
}

TEST_CASE("sanitize: cudnn conv2d handles empty batches and non-contiguous inputs") {
  if (!gpu_present()) return;
  Poison poison;
  const eng::Conv2dParams p = params(1, 1, 1, 1);
  Tensor w = randn({4, 3, 3, 3}, 401, DType::f32), b = randn({4}, 402, DType::f32);
  // Empty batch: empty output and gradients, a zero weight gradient.
  Tensor x0 = Tensor::empty({0, 3, 5, 5}, DType::f32, kGpu);
  CHECK(eng::conv2d(x0, w.to(kGpu), b.to(kGpu), p).shape() == Shape{0, 4, 5, 5});
  Tensor gy0 = Tensor::empty({0, 4, 5, 5}, DType::f32, kGpu);
  CHECK(eng::conv2d_backward_input(gy0, w.to(kGpu), {0, 3, 5, 5}, p).numel() == 0);
  CHECK(rel_err(eng::conv2d_backward_weight(gy0, x0, w.shape(), p), Tensor::zeros(w.shape(), DType::f32)) == 0);
  CHECK(rel_err(eng::conv2d_backward_bias(gy0), Tensor::zeros({4}, DType::f32)) == 0);
  // Transposed (strided) operands are made contiguous before cuDNN sees them.
  Tensor base = randn({2, 3, 6, 7}, 403, DType::f32), wbase = randn({4, 3, 3, 3}, 404, DType::f32);
  Tensor gybase = randn({2, 4, 6, 7}, 405, DType::f32);
  const Tensor xt = base.transpose(2, 3), wt = wbase.transpose(2, 3), gyt = gybase.transpose(2, 3);
  const Tensor xtg = base.to(kGpu).transpose(2, 3), wtg = wbase.to(kGpu).transpose(2, 3),
               gytg = gybase.to(kGpu).transpose(2, 3);
  CHECK(rel_err(eng::conv2d(xtg, wtg, b.to(kGpu), p), eng::conv2d(xt, wt, b, p)) <= 1e-4);
  CHECK(rel_err(eng::conv2d_backward_input(gytg, wtg, xt.shape(), p), eng::conv2d_backward_input(gyt, wt, xt.shape(), p)) <=
        1e-4);
  CHECK(rel_err(eng::conv2d_backward_weight(gytg, xtg, wt.shape(), p), eng::conv2d_backward_weight(gyt, xt, wt.shape(), p)) <=
        1e-4);
  CHECK(rel_err(eng::conv2d_backward_bias(gytg), eng::conv2d_backward_bias(gyt)) <= 1e-6);
  // Mixed devices are an error naming the op.
  CHECK_THROWS_AS(eng::conv2d(base.to(kGpu), w, Tensor(), p), cuttle::Error);
}

#ifdef CUTTLE_WITH_CUDA
// Sets which cuDNN API convolutions take for one scope (the graph API is the default).
class CudnnApiScope {
 public:
  explicit CudnnApiScope(bool graph) : was_(eng::cuda::cudnn_graph_api()) { eng::cuda::set_cudnn_graph_api(graph); }
  ~CudnnApiScope() { eng::cuda::set_cudnn_graph_api(was_); }

 private:
  bool was_;
};

// The legacy API's algorithm cache (the graph API caches plans instead; benchmark mode uses this one).
TEST_CASE("sanitize: cudnn algorithm cache heuristics workspace cap benchmark buckets and TF32") {
  if (!gpu_present()) return;
  namespace cu = eng::cuda;
  CudnnApiScope legacy(false);
  ConvFormScope direct(cu::ConvForm::direct, cu::ConvForm::direct);
  cu::clear_cudnn_algorithm_cache();
  const eng::Conv2dParams p = params(1, 1, 1, 1);
  Tensor w = randn({8, 4, 3, 3}, 501, DType::f32);
  auto run = [&](int64_t n, uint64_t seed) {
    Tensor x = randn({n, 4, 12, 12}, seed, DType::f32);
    CHECK(rel_err(eng::conv2d(x.to(kGpu), w.to(kGpu), Tensor(), p), eng::conv2d(x, w, Tensor(), p)) <= 1e-4);
  };
  // A shape is chosen once by heuristics, then served from the cache.
  const auto s0 = cu::cudnn_conv_stats();
  run(3, 502);
  run(3, 503);
  const auto s1 = cu::cudnn_conv_stats();
  CHECK(s1.heuristic_queries - s0.heuristic_queries == 1);
  CHECK(s1.find_runs == s0.find_runs);
  // A new batch size is a new descriptor: one more heuristic query, never a benchmark.
  run(5, 504);
  CHECK(cu::cudnn_conv_stats().heuristic_queries - s1.heuristic_queries == 1);
  // A zero workspace cap leaves only algorithms that need none (implicit GEMM does); results still match.
  const size_t cap = cu::cudnn_workspace_limit();
  cu::set_cudnn_workspace_limit(0);
  run(3, 505);
  run(2, 506);
  cu::set_cudnn_workspace_limit(cap);
  // Benchmark mode: one cudnnFind per batch-size bucket (9, 12 and 15 share the bucket of 16; none of
  // them is cached yet).
  cu::set_cudnn_benchmark(true);
  const auto b0 = cu::cudnn_conv_stats();
  run(9, 509);
  run(12, 510);
  run(15, 511);
  CHECK(cu::cudnn_conv_stats().find_runs - b0.find_runs == 1);
  cu::set_cudnn_benchmark(false);
  // Deterministic algorithms only: still correct, and bit-identical from run to run.
  cu::set_cudnn_deterministic(true);
  {
    Tensor x = randn({3, 4, 12, 12}, 512, DType::f32), gy = randn({3, 8, 12, 12}, 513, DType::f32);
    Tensor a = eng::conv2d_backward_weight(gy.to(kGpu), x.to(kGpu), w.shape(), p).to(kCpu);
    Tensor b = eng::conv2d_backward_weight(gy.to(kGpu), x.to(kGpu), w.shape(), p).to(kCpu);
    CHECK(a.to_vector<float>() == b.to_vector<float>());
    CHECK(rel_err(a, eng::conv2d_backward_weight(gy, x, w.shape(), p)) <= 1e-4);
  }
  cu::set_cudnn_deterministic(false);
  // TF32 follows the cuBLAS switch: looser agreement (10-bit mantissa inputs), then off again.
  cu::set_allow_tf32(true);
  {
    Tensor x = randn({2, 32, 16, 16}, 514, DType::f32), w2 = randn({32, 32, 3, 3}, 515, DType::f32);
    CHECK(rel_err(eng::conv2d(x.to(kGpu), w2.to(kGpu), Tensor(), p), eng::conv2d(x, w2, Tensor(), p)) <= 5e-3);
  }
  cu::set_allow_tf32(false);
  CHECK(cu::cudnn_conv_stats().cache_entries > 0);
  cu::clear_cudnn_algorithm_cache();
  CHECK(cu::cudnn_conv_stats().cache_entries == 0);
}

TEST_CASE("sanitize: cudnn graph and legacy API convolutions match the CPU in every direction") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  namespace cu = eng::cuda;
  eng::Conv2dParams asym = params(1, 0, 1, 1);
  asym.stride_h = 2;
  asym.pad_h = 1;
  asym.dil_w = 2;
  // Shapes cuDNN serves (cuttle's own forwards take depthwise, narrow 3x3 and 1x1 ones).
  const std::vector<ConvCase> cases = {
      {{2, 3, 7, 7}, 5, 3, 3, params(1, 1, 1, 1)},   {{3, 4, 9, 7}, 6, 3, 3, params(2, 1, 1, 2)},
      {{2, 5, 7, 7}, 7, 7, 7, params(1, 3, 1, 1)},   {{2, 4, 13, 13}, 3, 3, 3, params(1, 4, 4, 1)},
      {{1, 2, 5, 6}, 4, 3, 1, asym},                 {{3, 6, 4, 5}, 9, 2, 3, params(1, 1, 1, 3)},
      {{2, 64, 23, 23}, 64, 3, 3, params(1, 1, 1, 1)},  // 23x23: over the GEMM path's map limit
  };
  uint64_t seed = 1100;
  ConvFormScope direct(cu::ConvForm::direct, cu::ConvForm::direct);
  const int search = cu::cudnn_plan_search();
  for (int mode : {0, 1, 2}) {  // graph API timing its candidates, graph API's first choice, legacy API
    CudnnApiScope api(mode < 2);
    cu::set_cudnn_plan_search(mode == 0 ? 4 : 1);
    INFO("mode ", mode);
    const int64_t before = cu::cudnn_graph_runs();
    for (DType dt : {DType::f32, DType::f64})
      for (const ConvCase& c : cases) check_conv(c, dt, seed += 10);
    CHECK((cu::cudnn_graph_runs() > before) == (mode < 2));
  }
  // Timing runs once per batch-size bucket: 9, 12 and 15 share 16's (a shape no case above used).
  {
    CudnnApiScope api(true);
    cu::set_cudnn_plan_search(4);
    const Tensor w = randn({8, 8, 5, 5}, 1190, DType::f32);
    auto run = [&](int64_t n) {
      const Tensor x = randn({n, 8, 20, 20}, 1191 + n, DType::f32);
      const eng::Conv2dParams p = params(1, 2, 1, 1);
      CHECK(rel_err(eng::conv2d(x.to(kGpu), w.to(kGpu), Tensor(), p), eng::conv2d(x, w, Tensor(), p)) <= 1e-4);
    };
    const int64_t s0 = cu::cudnn_plan_searches();
    run(9);
    const int64_t s1 = cu::cudnn_plan_searches();
    CHECK(s1 - s0 <= 1);  // none when the heuristics leave a single candidate
    run(12);
    run(15);
    CHECK(cu::cudnn_plan_searches() == s1);
    // Threads on four side slots meeting a new shape at once (the MoE's experts under the slot
    // workers): one searches, the others wait for its choice instead of timing alongside it.
    const Tensor w7 = randn({8, 8, 7, 7}, 1195, DType::f32);
    const Tensor x7 = randn({40, 8, 12, 12}, 1196, DType::f32);
    const eng::Conv2dParams p7 = params(1, 3, 1, 1);
    const Tensor expected = eng::conv2d(x7, w7, Tensor(), p7);
    const Tensor xg = x7.to(kGpu), wg = w7.to(kGpu);
    std::vector<double> errors(4, 1.0);
    std::vector<std::thread> threads;
    const int64_t s2 = cu::cudnn_plan_searches();
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        eng::StreamSlotGuard slot(kGpu, t + 1);
        eng::stream_wait(kGpu, t + 1, 0);  // the inputs were copied on the main stream
        const Tensor y = eng::conv2d(xg, wg, Tensor(), p7);
        errors[(size_t)t] = rel_err(y, expected);
      });
    for (std::thread& t : threads) t.join();
    for (double e : errors) CHECK(e <= 1e-4);
    CHECK(cu::cudnn_plan_searches() - s2 <= 1);
  }
  cu::set_cudnn_plan_search(search);
  // A zero workspace cap leaves the graph API the engines that need none, or the legacy path.
  const size_t cap = cu::cudnn_workspace_limit();
  cu::set_cudnn_workspace_limit(0);
  check_conv(cases.back(), DType::f32, seed += 10);
  cu::set_cudnn_workspace_limit(cap);
#endif
}

TEST_CASE("sanitize: cudnn graph convolutions on the same addresses reuse the variant pack and see new contents") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  namespace cu = eng::cuda;
  CudnnApiScope api(true);
  ConvFormScope direct(cu::ConvForm::direct, cu::ConvForm::direct);
  const eng::Conv2dParams p = params(1, 2, 1, 1);
  // 24x24 maps: over the GEMM path's limit. The pools start settled (no side stream left unjoined
  // by an earlier test), so the output and workspace blocks come back round after round.
  eng::cuda::synchronize(0);
  const Tensor w = randn({6, 8, 5, 5}, 1290, DType::f32), wg = w.to(kGpu);
  const Tensor x1 = randn({3, 8, 24, 24}, 1291, DType::f32), x2 = randn({3, 8, 24, 24}, 1292, DType::f32);
  Tensor xg = x1.to(kGpu);
  const int64_t runs0 = cu::cudnn_graph_runs();
  Tensor y = eng::conv2d(xg, wg, Tensor(), p);
  CHECK(rel_err(y, eng::conv2d(x1, w, Tensor(), p)) <= 1e-4);
  REQUIRE(cu::cudnn_graph_runs() > runs0);  // the shape went through a graph plan
  y = Tensor();  // its block comes back for the next output
  const int64_t packs = cu::cudnn_variant_packs_built();
  for (int round = 0; round < 3; ++round) {
    const Tensor& x = round % 2 == 0 ? x2 : x1;
    xg.copy_(x.to(kGpu));  // new contents at the same address
    y = eng::conv2d(xg, wg, Tensor(), p);
    CHECK(rel_err(y, eng::conv2d(x, w, Tensor(), p)) <= 1e-4);
    y = Tensor();
  }
  CHECK(cu::cudnn_variant_packs_built() == packs);  // same pointers: the kept pack ran
  // Another input address (holding what xg does not hold now): a new pack, and the right result.
  const Tensor other = x1.to(kGpu);
  CHECK(rel_err(eng::conv2d(other, wg, Tensor(), p), eng::conv2d(x1, w, Tensor(), p)) <= 1e-4);
  CHECK(cu::cudnn_variant_packs_built() == packs + 1);
#endif
}

TEST_CASE("sanitize: cuda GEMM convolutions over small maps match the CPU in every direction") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  eng::Conv2dParams asym = params(2, 3, 1, 1);
  asym.pad_w = 1;
  asym.dil_w = 2;
  const std::vector<ConvCase> cases = {
      {{3, 64, 7, 7}, 16, 3, 3, params(1, 1, 1, 1)},    // 3x3 same, C*9 = 576
      {{4, 16, 11, 11}, 8, 7, 7, params(1, 3, 1, 1)},   // the experts' 7x7 on four 11x11 maps (484 columns)
      {{2, 32, 9, 13}, 7, 5, 5, params(1, 4, 2, 1)},    // 5x5 dilated 2, odd output channels
      {{1, 64, 10, 9}, 3, 1, 9, params(1, 0, 1, 1)},    // a 1x9 row kernel, no padding
      {{4, 16, 12, 11}, 5, 7, 5, asym},                 // stride 2, padding and dilation per axis
      {{2, 64, 16, 16}, 4, 8, 8, params(8, 0, 1, 1)},   // PVT's spatial-reduction conv (kernel = stride)
  };
  uint64_t seed = 900;
  for (const ConvCase& c : cases) {
    const Shape ws = {c.out, c.x[1], c.kh, c.kw};
    REQUIRE(eng::cuda::gemm_conv_applies(c.x, ws, c.p, DType::f32));
    check_conv(c, DType::f32, seed += 10);
  }
  check_conv(cases[1], DType::f64, seed += 10);
  // A column cap below a few samples' worth: chunks of one or two samples, the weight gradient
  // accumulating across them.
  for (int64_t cap : {int64_t(1), int64_t(2 * 784 * 121 * 8)}) {
    eng::cuda::set_gemm_conv_column_cap(cap);
    check_conv(cases[1], DType::f32, seed += 10);
    check_conv(cases[1], DType::f64, seed += 10);
  }
  eng::cuda::set_gemm_conv_column_cap(0);
  // Switched off: the same shapes run on cuDNN.
  eng::cuda::set_gemm_conv(false);
  CHECK_FALSE(eng::cuda::gemm_conv_applies(cases[1].x, {8, 16, 7, 7}, cases[1].p, DType::f32));
  check_conv(cases[1], DType::f32, seed += 10);
  eng::cuda::set_gemm_conv(true);
  // Large maps, more than 484 columns (five 11x11 samples), 1x1 kernels, grouped convolutions and
  // short reductions stay off the path.
  CHECK_FALSE(eng::cuda::gemm_conv_applies({5, 16, 11, 11}, {8, 16, 7, 7}, params(1, 3, 1, 1), DType::f32));
  CHECK_FALSE(eng::cuda::gemm_conv_applies({2, 64, 23, 23}, {8, 64, 3, 3}, params(1, 1, 1, 1), DType::f32));
  CHECK_FALSE(eng::cuda::gemm_conv_applies({2, 512, 11, 11}, {8, 512, 1, 1}, params(1, 0, 1, 1), DType::f32));
  CHECK_FALSE(eng::cuda::gemm_conv_applies({2, 128, 11, 11}, {8, 64, 3, 3}, params(1, 1, 1, 2), DType::f32));
  CHECK_FALSE(eng::cuda::gemm_conv_applies({2, 32, 11, 11}, {8, 32, 3, 3}, params(1, 1, 1, 1), DType::f32));
#endif
}

TEST_CASE("sanitize: cuda forwards and input gradients in the flipped form match the CPU") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  namespace cu = eng::cuda;
  using cu::ConvForm;
  using cu::ConvKind;
  eng::Conv2dParams rect = params(1, 0, 1, 1);  // 3x5 kernel: no padding down, dilated and padded across
  rect.pad_w = 3;
  rect.dil_w = 2;
  const std::vector<ConvCase> cases = {
      {{2, 3, 7, 7}, 5, 3, 3, params(1, 1, 1, 1)},    // 3x3 same
      {{2, 5, 9, 8}, 7, 7, 7, params(1, 3, 1, 1)},    // 7x7
      {{2, 4, 13, 13}, 3, 3, 3, params(1, 4, 4, 1)},  // dilation 4
      {{3, 6, 10, 12}, 5, 3, 5, rect},                // per-axis padding and dilation, output smaller
      {{1, 6, 6, 6}, 9, 5, 5, params(1, 0, 1, 1)},    // valid 5x5: complementary padding 4
  };
  CHECK(cu::flipped_form_applies({5, 3, 3, 3}, params(1, 1, 1, 1), DType::f32));
  CHECK_FALSE(cu::flipped_form_applies({5, 3, 3, 3}, params(2, 1, 1, 1), DType::f32));
  CHECK_FALSE(cu::flipped_form_applies({6, 1, 3, 3}, params(1, 1, 1, 3), DType::f32));
  CHECK_FALSE(cu::flipped_form_applies({5, 3, 1, 1}, params(1, 0, 1, 1), DType::f32));
  CHECK_FALSE(cu::flipped_form_applies({5, 3, 3, 3}, params(1, 3, 1, 1), DType::f32));
  CHECK_FALSE(cu::flipped_form_applies({5, 3, 3, 3}, params(1, 1, 1, 1), DType::f64));
  const eng::Conv2dParams q = cu::flipped_form_params({7, 5, 3, 5}, rect);
  CHECK(q.pad_h == 2);
  CHECK(q.pad_w == 5);  // (5 - 1) * 2 - 3
  // The forward's rule: wide inputs over small maps (large kernels up to 2048 pixels).
  CHECK(cu::conv_form(ConvKind::forward) == ConvForm::rule);
  CHECK(cu::conv_form(ConvKind::backward_data) == ConvForm::rule);
  auto by_rule = [](ConvKind kind, const Shape& x, const Shape& w, const eng::Conv2dParams& p) {
    return cu::flipped_form_by_rule(kind, x, w, p, DType::f32);
  };
  const ConvKind fwd = ConvKind::forward, bwd = ConvKind::backward_data;
  CHECK(by_rule(fwd, {5, 128, 44, 44}, {44, 128, 7, 7}, params(1, 3, 1, 1)));
  CHECK_FALSE(by_rule(fwd, {5, 128, 44, 44}, {32, 128, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(fwd, {5, 64, 88, 88}, {22, 64, 7, 7}, params(1, 3, 1, 1)));
  CHECK(by_rule(fwd, {16, 320, 22, 22}, {80, 320, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(fwd, {6, 80, 22, 22}, {80, 80, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(fwd, {5, 512, 11, 11}, {128, 512, 3, 3}, params(2, 1, 1, 1)));
  // The input gradient's rule: maps of at least 4096 pixels.
  CHECK(by_rule(bwd, {5, 64, 88, 88}, {22, 64, 7, 7}, params(1, 3, 1, 1)));
  CHECK(by_rule(bwd, {16, 16, 64, 64}, {16, 16, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(bwd, {16, 128, 44, 44}, {32, 128, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(bwd, {5, 64, 88, 88}, {16, 64, 1, 1}, params(1, 0, 1, 1)));
  CHECK_FALSE(by_rule(bwd, {5, 64, 88, 88}, {16, 64, 3, 3}, params(2, 1, 1, 1)));
  // Neither rule flips with TF32.
  cu::set_allow_tf32(true);
  CHECK_FALSE(by_rule(fwd, {16, 320, 22, 22}, {80, 320, 3, 3}, params(1, 1, 1, 1)));
  CHECK_FALSE(by_rule(bwd, {5, 64, 88, 88}, {22, 64, 7, 7}, params(1, 3, 1, 1)));
  cu::set_allow_tf32(false);
  // Shapes the rules flip, through the default path: a forward, then an input gradient.
  check_conv({{2, 128, 40, 40}, 20, 5, 5, params(1, 2, 1, 1)}, DType::f32, 490);
  check_conv({{2, 6, 64, 64}, 5, 3, 3, params(1, 1, 1, 1)}, DType::f32, 495);
  uint64_t seed = 500;
  {
    // check_conv runs the forward and the input gradient: each flipped alone, then both.
    ConvFormScope forward_only(ConvForm::flipped, ConvForm::direct);
    for (const ConvCase& c : cases) check_conv(c, DType::f32, seed += 10);
  }
  {
    ConvFormScope input_gradient_only(ConvForm::direct, ConvForm::flipped);
    for (const ConvCase& c : cases) check_conv(c, DType::f32, seed += 10);
  }
  ConvFormScope both(ConvForm::flipped, ConvForm::flipped);
  for (const ConvCase& c : cases) check_conv(c, DType::f32, seed += 10);
  // Timed: the first use of a shape times both forms of each operation once; either way the result matches.
  {
    ConvFormScope timed(ConvForm::timed, ConvForm::timed);
    const int64_t before = cu::conv_form_timings();
    check_conv({{2, 5, 9, 8}, 7, 7, 7, params(1, 3, 1, 1)}, DType::f32, 600);
    const int64_t after_first = cu::conv_form_timings();
    CHECK(after_first == before + 2);
    check_conv({{2, 5, 9, 8}, 7, 7, 7, params(1, 3, 1, 1)}, DType::f32, 610);
    CHECK(cu::conv_form_timings() == after_first);
  }
  ConvFormScope direct(ConvForm::direct, ConvForm::direct);
  check_conv({{2, 5, 9, 8}, 7, 7, 7, params(1, 3, 1, 1)}, DType::f32, 620);
#endif
}

TEST_CASE("cudnn version warning names both versions on a mismatch") {
  // Pure string logic: runs without a GPU.
  namespace cu = eng::cuda;
  CHECK(cu::cudnn_version_string(91400) == "9.14.0");
  CHECK(cu::cudnn_version_string(8907) == "8.9.7");
  const std::string w = cu::cudnn_version_warning(91400, 91900);
  CHECK(w.find("9.14.0") != std::string::npos);
  CHECK(w.find("9.19.0") != std::string::npos);
  CHECK(cu::cudnn_version_warning(91900, 91900).empty());
  CHECK(cu::cudnn_version_warning(91902, 91900).empty());  // patch releases are compatible
  CHECK_FALSE(cu::cudnn_version_warning(92000, 91900).empty());
}
#endif

}
