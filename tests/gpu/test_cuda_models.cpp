// Model-level GPU checks: a SparseMoE of the real COD experts agrees across its modes on the GPU and
// with the CPU (eval mode: BatchNorm on running statistics, so the modes compute one function), and
// the whole camoxpert-tiny network gives the CPU's outputs, loss and parameter gradients on the GPU.
#include <map>
#include <string>
#include <vector>

#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/slot_workers.h"
#include "engine/random.h"
#include "layers/experts/registry.h"
#include "layers/moe/routing.h"
#include "layers/moe/sparse_moe.h"
#include "models/loss.h"
#include "models/model_factory.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/models/stand_in_backbone.h"
#include "engine/streams.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/cublas.h"
#include "engine/cuda/runtime.h"
#endif

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
using autograd::Var;

namespace {

struct Result {
  Tensor out, grad_x;
  std::map<std::string, Tensor> grads;  // parameters that received one
};

// The six default experts at width C, top-2, eval mode, on `device`.
std::shared_ptr<layers::SparseMoE> cod_moe(int64_t C, engine::Device device) {
  engine::Generator gen(2024);
  std::vector<std::shared_ptr<layers::UnaryModule>> experts;
  for (const char* t : {"CODTexture", "CODFrequency", "CODEdge", "ContrastEnhancement", "CODAttention", "CODHybrid"})
    experts.push_back(layers::make_expert(t, C, gen));
  layers::SparseMoEOptions o;
  o.top_k = 2;
  auto moe = std::make_shared<layers::SparseMoE>(C, experts, o, gen);
  moe->to(device);
  moe->eval();
  return moe;
}

Result run_moe(layers::SparseMoE& moe, layers::MoEMode mode, const Tensor& x, const Tensor& proj) {
  moe.set_mode(mode);
  moe.zero_grad();
  Var xv(x.clone(), true);
  Var y = moe(xv);
  autograd::sum(autograd::mul(y, Var(proj))).backward();
  Result r{y.data(), xv.grad(), {}};
  for (auto& [name, p] : moe.named_parameters())
    if (p.grad().defined()) r.grads[name] = p.grad();
  return r;
}

// Every output and gradient of `got` within tol of `ref` (rel_err: relative to the larger of 1 and the
// reference's largest magnitude). Parameters with a gradient in `got` only are allowed when
// `extra_in_got` (dense_masked runs unchosen experts too: their gradients are zero there).
void check_close(const Result& got, const Result& ref, double tol, bool extra_in_got = false) {
  CHECK(rel_err(got.out, ref.out) <= tol);
  CHECK(rel_err(got.grad_x, ref.grad_x) <= tol);
  if (!extra_in_got) CHECK(got.grads.size() == ref.grads.size());
  for (const auto& [name, g] : ref.grads) {
    INFO(name);
    REQUIRE(got.grads.count(name));
    CHECK(rel_err(got.grads.at(name), g) <= tol);
  }
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("SparseMoE of the COD experts: batched, per-sample and dense_masked agree on the GPU and with the CPU") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  engine::cuda::set_allow_tf32(false);
#endif
  // 16 channels on 16x16 maps, batch 7: uneven expert sub-batches, every expert kind incl. attention.
  const Tensor x = randn({7, 16, 16, 16}, 2100, DType::f32), proj = randn({7, 16, 16, 16}, 2101, DType::f32);
  auto gpu_moe = cod_moe(16, kGpu);
  auto cpu_moe = cod_moe(16, kCpu);
  const Result batched = run_moe(*gpu_moe, layers::MoEMode::batched, x.to(kGpu), proj.to(kGpu));
  const Result per_sample = run_moe(*gpu_moe, layers::MoEMode::per_sample, x.to(kGpu), proj.to(kGpu));
  const Result dense = run_moe(*gpu_moe, layers::MoEMode::dense_masked, x.to(kGpu), proj.to(kGpu));
  const Result cpu = run_moe(*cpu_moe, layers::MoEMode::batched, x, proj);
  CHECK(same(gpu_moe->last_indices(), cpu_moe->last_indices()));  // the same routing on both devices
  // f32 with cuDNN's algorithms, which differ with the sub-batch size: rounding-level differences.
  SUBCASE("modes on the GPU") {
    check_close(per_sample, batched, 1e-4);
    check_close(dense, batched, 1e-4, /*extra_in_got=*/true);
  }
  SUBCASE("GPU against CPU") { check_close(batched, cpu, 1e-4); }
  SUBCASE("routing statistics kept on the GPU") {
    // The GPU MoE ran three forwards with the same routing, the CPU one: three times its sums.
    const layers::MoEStats& g = gpu_moe->stats();
    const layers::MoEStats& c = cpu_moe->stats();
    REQUIRE(g.weight_sum.size() == c.weight_sum.size());
    for (size_t e = 0; e < c.weight_sum.size(); ++e) {
      CHECK(g.selections[e] == 3 * c.selections[e]);
      CHECK(g.weight_sum[e] == doctest::Approx(3 * c.weight_sum[e]).epsilon(1e-5));
    }
  }
}

TEST_CASE("SparseMoE experts on side streams compute what they compute on one stream") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  engine::cuda::set_allow_tf32(false);
  // Training mode (BatchNorm on sub-batch statistics, running statistics updated on the side streams),
  // 32 channels on 12x12 maps, batch 9: uneven sub-batches. The kernels and their order per stream are
  // the same with and without side streams (cuBLAS may pick another GEMM split with a side stream's
  // workspace: rounding only), so 1e-6 leaves no room for a race, which reads another stream's data
  // and is off by O(1); the streamed run is repeated to give races their chance.
  const Tensor x = randn({9, 32, 12, 12}, 2200, DType::f32), proj = randn({9, 32, 12, 12}, 2201, DType::f32);
  for (layers::MoEMode mode : {layers::MoEMode::batched, layers::MoEMode::dense_soft}) {
    INFO("mode ", (int)mode);
    auto moe = cod_moe(32, kGpu);
    moe->train();
    // Fixed routing (balancing off): expert e gets samples whose pair includes it, 3 apiece.
    std::vector<int64_t> pairs;
    for (int64_t b = 0; b < 9; ++b) pairs.insert(pairs.end(), {b % 6, (b + 1 + b / 6) % 6});
    moe->freeze_routing(Tensor::from_vector<int64_t>(pairs, {9, 2}).to(kGpu));
    const int default_streams = engine::branch_streams();
    engine::set_branch_streams(0);
    const Result one = run_moe(*moe, mode, x.to(kGpu), proj.to(kGpu));
    // The side slots' forward and backward issued from the calling thread, then from the slot workers
    // (autograd/slot_workers.h, the defaults), several slots at once.
    for (int threads = 0; threads < 4; ++threads) {
      autograd::set_forward_threads(threads & 1);
      autograd::set_backward_threads(threads & 2);
      for (int streams : {6, 4, 6, 6}) {
        INFO("streams ", streams, " forward threads ", (threads & 1), " backward threads ", (threads & 2) / 2);
        engine::set_branch_streams(streams);
        const int64_t threaded_before = autograd::slot_worker_runs();
        const Result many = run_moe(*moe, mode, x.to(kGpu), proj.to(kGpu));
        check_close(many, one, 1e-6);
        // The forward went through the workers exactly when they were asked for.
        CHECK((autograd::slot_worker_runs() > threaded_before) == bool(threads & 1));
      }
    }
    autograd::reset_slot_thread_switches();
    engine::set_branch_streams(default_streams);
    // Every block held for a cross-stream wait goes back to the pools when the device is synchronised.
    MESSAGE("bytes held for cross-stream waits before synchronising: ", engine::cuda::allocator_stats(0).held);
    engine::cuda::synchronize(0);
    CHECK(engine::cuda::allocator_stats(0).held == 0);
  }
#endif
}

TEST_CASE("SparseMoE on side streams: gradients accumulated over micro-batches with different experts active") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  engine::cuda::set_allow_tf32(false);
  // Three micro-batches without zero_grad in between (gradient accumulation), each routed to another
  // set of experts, so gradients made on one side stream are added to on another one and blocks
  // freed by one stream are reused by the next; with 4 streams for 6 experts two slots are shared.
  const Tensor x = randn({6, 32, 12, 12}, 2300, DType::f32), proj = randn({6, 32, 12, 12}, 2301, DType::f32);
  const std::vector<std::vector<int64_t>> routings = {
      {0, 1, 1, 2, 2, 3, 3, 0, 0, 2, 1, 3},  // experts 0-3
      {4, 5, 5, 2, 2, 4, 4, 5, 5, 2, 2, 4},  // experts 2, 4, 5
      {0, 5, 1, 4, 2, 3, 3, 2, 4, 1, 5, 0}}; // all
  const int default_streams = engine::branch_streams();
  auto accumulate = [&](int streams) {
    engine::set_branch_streams(streams);
    auto moe = cod_moe(32, kGpu);
    moe->train();
    moe->set_mode(layers::MoEMode::batched);
    moe->zero_grad();
    Var xv(x.to(kGpu), true);
    for (const std::vector<int64_t>& r : routings) {
      moe->freeze_routing(Tensor::from_vector<int64_t>(r, {6, 2}).to(kGpu));
      autograd::sum(autograd::mul((*moe)(xv), Var(proj.to(kGpu)))).backward();
    }
    Result res{Tensor(), xv.grad(), {}};
    for (auto& [name, p] : moe->named_parameters())
      if (p.grad().defined()) res.grads[name] = p.grad();
    res.out = moe->expert(2).named_buffers().begin()->second.clone();  // a running statistic
    engine::set_branch_streams(default_streams);
    return res;
  };
  const Result one = accumulate(0);
  for (int threads = 0; threads < 4; ++threads) {
    // With the slot workers too (autograd/slot_workers.h), forward and backward.
    autograd::set_forward_threads(threads & 1);
    autograd::set_backward_threads(threads & 2);
    for (int streams : {6, 4, 6}) {
      INFO("streams ", streams, " forward threads ", (threads & 1), " backward threads ", (threads & 2) / 2);
      const int64_t threaded_before = autograd::slot_worker_runs();
      check_close(accumulate(streams), one, 1e-6);
      CHECK((autograd::slot_worker_runs() > threaded_before) == bool(threads & 1));
    }
  }
  autograd::reset_slot_thread_switches();
  engine::cuda::synchronize(0);
  CHECK(engine::cuda::allocator_stats(0).held == 0);
#endif
}

TEST_CASE("the loss-free balancing update on the GPU matches the CPU's") {
  if (!gpu_present()) return;
  // Extremes included: a bias at the clamp, an expert nobody chose, one chosen by half the batch.
  const Tensor bias = Tensor::from_vector<float>({0.1f, -0.2f, 0.3f, 0.0f, 4.999f, -4.999f}, {6});
  const Tensor usage = Tensor::from_vector<float>({0.5f, 0.1f, 0.1f, 0.1f, 0.2f, 0.0f}, {6});
  layers::moe::BalanceState cpu{bias.clone(), Tensor::full({6}, 1.0 / 6)};
  layers::moe::BalanceState gpu{bias.to(kGpu), Tensor::full({6}, 1.0 / 6).to(kGpu)};
  layers::moe::BalanceOptions o;
  o.rate = 0.05;
  for (int i = 0; i < 30; ++i) {
    layers::moe::update_balance(cpu, usage, o);
    layers::moe::update_balance(gpu, usage, o);
  }
  CHECK(gpu.bias.device() == kGpu);
  // The same double arithmetic rounded to f32 on both sides (FMA contraction may move the last bit).
  CHECK(rel_err(gpu.bias, cpu.bias) <= 1e-6);
  CHECK(rel_err(gpu.usage_ema, cpu.usage_ema) <= 1e-6);
  CHECK(cpu.bias.to_vector<float>()[4] < 5.0f);
}

TEST_CASE("camoxpert-tiny: outputs, loss and every parameter gradient on the GPU match the CPU") {
  if (!gpu_present()) return;
#ifdef CUTTLE_WITH_CUDA
  engine::cuda::set_allow_tf32(false);
#endif
  models::CamoXpertConfig cfg = tiny_test_config();  // SmallCNN, head width 8, 64x64, the 6 experts
  cfg.backbone.dims = {8, 16, 32, 64};
  const Tensor images = randn({2, 3, 64, 64}, 2102, DType::f32);
  Tensor masks = engine::bernoulli({2, 1, 64, 64}, 0.3, DType::f32, nullptr);
  struct Run {
    std::vector<Tensor> maps, indices;
    double loss;
    std::map<std::string, Tensor> grads;
  };
  auto run = [&](engine::Device d) {
    engine::Generator gen(7);
    std::shared_ptr<models::CamoXpert> model = models::make_camoxpert(cfg, gen);
    model->to(d);
    model->eval();  // BN on running statistics: the routing and every op are device-independent functions
    models::CamoXpertOutput out = model->forward(Var(images.to(d)));
    models::LossTerms loss = models::camoxpert_loss(out, masks.to(d), cfg.loss);
    loss.total.backward();
    Run r{{out.logits.data(), out.pred_1.data(), out.p0.data(), out.u.data()}, {}, loss.total.data().item(), {}};
    for (int64_t s = 0; s < 4; ++s) r.indices.push_back(model->moe(s).last_indices());
    for (auto& [name, p] : model->named_parameters())
      if (p.grad().defined()) r.grads[name] = p.grad();
    return r;
  };
  const Run cpu = run(kCpu), gpu = run(kGpu);
  for (size_t s = 0; s < cpu.indices.size(); ++s) {
    INFO("MoE ", s);
    REQUIRE(same(gpu.indices[s], cpu.indices[s]));  // else the two runs compute different functions
  }
  for (size_t i = 0; i < cpu.maps.size(); ++i) {
    INFO("map ", i);
    CHECK(rel_err(gpu.maps[i], cpu.maps[i]) <= 1e-4);
  }
  CHECK(std::abs(gpu.loss - cpu.loss) <= 1e-5 * std::max(1.0, std::abs(cpu.loss)));
  CHECK(gpu.grads.size() == cpu.grads.size());
  // Gradients pass back through ~60 layers of f32 convolutions: 1e-3 of each tensor's largest value.
  for (const auto& [name, g] : cpu.grads) {
    INFO(name);
    REQUIRE(gpu.grads.count(name));
    CHECK(rel_to_max(gpu.grads.at(name).to(kCpu), g, 1e-6) <= 1e-3);
  }
}

}  // TEST_SUITE
