// bench_moe: speed benchmark of CamoXpert's mixture of experts and of its softmax attention, each row one
// training step's forward + backward (BatchNorm in training, parameter and input gradients), timed with
// apps/bench_timer.h (median of --reps calls after --warmup). Three lists in one run:
//   moe        the four SparseMoE layers of camoxpert-pvt-b2 at its image size (expert pool and sr ratios
//              built as models/camoxpert.cpp builds them), batch 16, top-k of the config, in the batched,
//              per_sample and dense_soft modes
//   original   the original CamoXpert's own benchmark shape: dim 288 on 22x22 maps, batch 1/4/8/16
//   attention  PVTv2-b2 spatial-reduction attention per stage (the module, and its softmax(QK^T)V core)
//              and the CODAttention expert at each MoE scale
// Routing is frozen ("uniform", see uniform_routing) so the three modes run the same work every call.
// --routing-file adds the moe list again under a recorded routing (infer_cod --routing-out of a trained
// model, models/routing_record.h): each scale replays the experts its MoE chose for images
// [J*B, (J+1)*B) of the record (J = --routing-batch).
// tools/bench_moe_torch.py times the same rows in PyTorch; tools/bench_compare.py joins the two --tsv files.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/bench_timer.h"
#include "apps/branch_streams_option.h"
#include "apps/shipped_config.h"
#include "autograd/functions/attention.h"
#include "engine/conv_log.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/op_trace.h"
#include "engine/parallel.h"
#include "engine/random.h"
#include "engine/system_info.h"
#include "layers/attention.h"
#include "layers/experts/attention_experts.h"
#include "layers/experts/registry.h"
#include "layers/moe/sparse_moe.h"
#include "models/backbones/pvt_v2.h"
#include "models/camoxpert_config.h"
#include "models/routing_record.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/cublas.h"
#include "engine/cuda/cudnn_graph_conv.h"
#endif

using namespace cuttle;
using autograd::Var;
using engine::Device;
using engine::Tensor;

namespace {

namespace ag = cuttle::autograd;
using Step = std::function<void()>;

// The shapes of one run. Keep in step with SIZES in tools/bench_moe_torch.py.
struct Sizes {
  std::vector<int64_t> dims, maps;  // per MoE scale / PVT stage
  int64_t batch;                    // moe and attention lists
  int64_t orig_dim, orig_map;
  std::vector<int64_t> orig_batches;
};

Sizes full_sizes(const models::CamoXpertConfig& c, int64_t batch) {
  Sizes s{{}, {}, batch, 288, 22, {1, 4, 8, 16}};
  for (int i = 0; i < 4; ++i) {
    s.dims.push_back(c.backbone.dims.at((size_t)i));
    s.maps.push_back(c.image_size / (int64_t(4) << i));
  }
  return s;
}

// Tiny shapes for a CPU smoke run; dims divisible by PVT-b2's heads (1, 2, 5, 8), maps by its sr ratios.
Sizes quick_sizes() { return {{16, 32, 40, 64}, {16, 8, 4, 2}, 4, 32, 4, {1, 2, 4}}; }

// "uniform" routing: selection slot j of the B*k slots goes to expert j % E, so every expert gets
// floor or ceil of B*k/E samples; the k slots of a sample are consecutive, hence distinct (k <= E).
// Which sample gets which slots is a seeded Fisher-Yates shuffle on splitmix64, mirrored exactly by
// tools/bench_moe_torch.py, so both sides route every sample identically. Returns [B, k] row-major.
std::vector<int64_t> uniform_routing(int64_t B, int64_t k, int64_t E, uint64_t seed) {
  auto next = [&seed] {
    uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<int64_t> perm(B);
  for (int64_t b = 0; b < B; ++b) perm[b] = b;
  for (int64_t i = B - 1; i > 0; --i) std::swap(perm[i], perm[next() % (uint64_t)(i + 1)]);
  std::vector<int64_t> idx(B * k);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < k; ++s) idx[perm[b] * k + s] = (b * k + s) % E;
  return idx;
}

// idx [B, k] row-major; `even`: it came from uniform_routing (the note says why counts differ by one).
std::string routing_note(const std::vector<int64_t>& idx, int64_t B, int64_t k, int64_t E, bool even = true) {
  std::vector<int64_t> count(E, 0);
  for (int64_t e : idx) ++count[e];
  std::string s = "B*k = " + std::to_string(B * k) + " selections over E = " + std::to_string(E) +
                  " experts, samples per expert";
  for (int64_t c : count) s += " " + std::to_string(c);
  if (even && (B * k) % E) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " (B*k/E = %.2f is not an integer: as even as possible)", double(B * k) / E);
    s += buf;
  }
  s += "; experts per sample:";
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < k; ++j) s += (j ? "," : " ") + std::to_string(idx[b * k + j]);
  return s;
}

Tensor input(const engine::Shape& s, Device d, uint64_t seed) {
  engine::Generator gen(seed);
  return engine::normal(s, 0, 1, engine::DType::f32, &gen).to(d);
}

// ---- the timed steps (each builds its module and inputs on the device, then returns the call) ----

std::shared_ptr<layers::SparseMoE> make_moe(const models::CamoXpertConfig& c, int64_t dim, int64_t sr,
                                            engine::Generator& gen) {
  // As models/camoxpert.cpp: the config's pool, its sr ratio for this scale, its routing options.
  layers::ExpertOptions eo;
  eo.sr_ratio = sr;
  std::vector<std::shared_ptr<layers::UnaryModule>> experts;
  for (const std::string& type : c.moe.experts) experts.push_back(layers::make_expert(type, dim, gen, eo));
  layers::SparseMoEOptions mo;
  mo.top_k = c.moe.top_k;
  mo.balance = c.moe.balance;  // off anyway while the routing is frozen
  mo.bias_in_weights = c.moe.bias_in_weights;
  return std::make_shared<layers::SparseMoE>(dim, experts, mo, gen);
}

// routing: the frozen expert choice, [B, k] row-major.
Step moe_step(const models::CamoXpertConfig& c, int64_t dim, int64_t map, int64_t sr, int64_t B,
              const std::vector<int64_t>& routing, layers::MoEMode mode, Device d) {
  engine::Generator gen(1);
  auto moe = make_moe(c, dim, sr, gen);
  moe->to(d);
  moe->train();
  moe->set_mode(mode);
  const int64_t k = c.moe.top_k;
  moe->freeze_routing(Tensor::from_vector<int64_t>(routing, {B, k}).to(d));
  const Tensor x = input({B, dim, map, map}, d, 2), gy = input({B, dim, map, map}, d, 3);
  return [moe, x, gy] {
    moe->zero_grad();
    (*moe)(Var(x, true)).backward(gy);
  };
}

Step sra_step(int64_t dim, int64_t heads, int64_t sr, int64_t map, int64_t B, Device d) {
  engine::Generator gen(4);
  auto att = std::make_shared<layers::SpatialReductionAttention>(dim, heads, sr, gen);
  att->to(d);
  att->train();
  const Tensor x = input({B, map * map, dim}, d, 5), gy = input({B, map * map, dim}, d, 6);
  return [att, x, gy, map] {
    att->zero_grad();
    att->forward(Var(x, true), map, map).backward(gy);
  };
}

// softmax(QK^T / sqrt(d)) V alone on contiguous [B, heads, tokens, d] inputs.
Step core_step(int64_t B, int64_t heads, int64_t N, int64_t M, int64_t d, Device dev) {
  const Tensor q = input({B, heads, N, d}, dev, 7), k = input({B, heads, M, d}, dev, 8),
               v = input({B, heads, M, d}, dev, 9), gy = input({B, heads, N, d}, dev, 10);
  const double scale = 1.0 / std::sqrt(double(d));
  return [q, k, v, gy, scale] {
    ag::scaled_dot_product_attention(Var(q, true), Var(k, true), Var(v, true), scale).backward(gy);
  };
}

Step cod_attention_step(int64_t dim, int64_t sr, int64_t map, int64_t B, Device d) {
  engine::Generator gen(11);
  layers::ExpertOptions eo;
  eo.sr_ratio = sr;
  auto att = layers::make_expert("CODAttention", dim, gen, eo);
  att->to(d);
  att->train();
  const Tensor x = input({B, dim, map, map}, d, 12), gy = input({B, dim, map, map}, d, 13);
  return [att, x, gy] {
    att->zero_grad();
    (*att)(Var(x, true)).backward(gy);
  };
}

// ---- measuring and reporting ----

struct Result {
  double median = 0, min = 0, peak_mib = -1;  // median 0: n/a; peak -1: not measured (CPU)
  double host = 0;                            // GPU: median ms the host spent issuing a call
};

void reset_peak(Device d) {
#ifdef CUTTLE_WITH_CUDA
  if (d.is_cuda()) engine::cuda::reset_peak(d.index);
#endif
  (void)d;
}

double peak_mib(Device d) {
#ifdef CUTTLE_WITH_CUDA
  if (d.is_cuda()) return engine::cuda::allocator_stats(d.index).peak_allocated / 1048576.0;
#endif
  (void)d;
  return -1;
}

class Bench {
 public:
  Bench(Device d, int warmup, int reps, const std::string& tsv_path) : d_(d), warmup_(warmup), reps_(reps) {
    if (tsv_path.empty()) return;
    tsv_.open(tsv_path);
    CUTTLE_CHECK(tsv_, "cannot write ", tsv_path);
    tsv_ << "op\tshape\tpass\tmedian_ms\tmin_ms\tbytes\tpeak_mib\n";
  }

  // Builds the step, times it and writes the TSV row; an op without a kernel on the device gives n/a
  // (the error goes to stderr) and the run goes on.
  Result run(const std::string& op, const std::string& shape, const std::function<Step()>& prepare) {
    Result r;
    if (!bench::row_selected(op + " " + shape, only)) return r;
    try {
      reset_peak(d_);
      const Step step = prepare();
      const bench::Timing t = bench::time_it(step, warmup_, reps_, d_);
      r = {t.median_ms, t.min_ms, peak_mib(d_), t.host_ms};
    } catch (const cuttle::Error& e) {
      std::string what = e.what();
      if (what.size() > 200) what = what.substr(0, 200) + "...";
      std::fprintf(stderr, "bench_moe: %s %s: n/a (%s)\n", op.c_str(), shape.c_str(), what.c_str());
    }
    if (tsv_) {
      tsv_ << op << '\t' << shape << "\tfwd+bwd\t" << fmt(r.median) << '\t' << fmt(r.min) << "\t0\t"
           << (r.peak_mib >= 0 ? fmt(r.peak_mib, "%.1f") : "-") << '\n';
      tsv_.flush();
    }
    return r;
  }

  std::string only;  // run only the rows whose "op shape" contains this (empty: all)

  static std::string fmt(double v, const char* f = "%.4f") {
    if (v <= 0) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
  }

 private:
  Device d_;
  int warmup_, reps_;
  std::ofstream tsv_;
};

std::string shape4(int64_t a, int64_t b, int64_t c, int64_t e) {
  return "[" + std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c) + "," + std::to_string(e) + "]";
}

const char* mode_name(layers::MoEMode m) {
  switch (m) {
    case layers::MoEMode::batched: return "batched";
    case layers::MoEMode::per_sample: return "per_sample";
    case layers::MoEMode::dense_masked: return "dense_masked";
    case layers::MoEMode::dense_soft: return "dense_soft";
  }
  return "?";
}

std::string peak_text(const Result& r) { return r.peak_mib >= 0 ? Bench::fmt(r.peak_mib, "%.0f") : "-"; }

// One MoE shape in the three modes under one routing ([B, k] row-major; `label` names it in the rows:
// "uniform" or "trained"); the ratio column is each mode's median over batched's.
void moe_rows(Bench& bench, const models::CamoXpertConfig& c, const std::string& scale, int64_t dim, int64_t map,
              int64_t sr, int64_t B, const std::vector<int64_t>& routing, const std::string& label, Device d) {
  double batched = 0;
  for (layers::MoEMode m : {layers::MoEMode::batched, layers::MoEMode::per_sample, layers::MoEMode::dense_soft}) {
    const Result r = bench.run(std::string("SparseMoE ") + mode_name(m) + " (" + label + ")", shape4(B, dim, map, map),
                               [&] { return moe_step(c, dim, map, sr, B, routing, m, d); });
    if (m == layers::MoEMode::batched) batched = r.median;
    const std::string ratio = r.median > 0 && batched > 0 ? Bench::fmt(r.median / batched, "%.2f") : "n/a";
    if (r.median <= 0 && !bench.only.empty()) continue;
    std::printf("| %-5s | %4lld | %-7s | %5lld | %-10s | %9s | %9s | %9s | %8s | %7s |\n", scale.c_str(),
                (long long)dim, (std::to_string(map) + "x" + std::to_string(map)).c_str(), (long long)B,
                mode_name(m), Bench::fmt(r.median, "%.3f").c_str(), Bench::fmt(r.min, "%.3f").c_str(), ratio.c_str(),
                peak_text(r).c_str(), Bench::fmt(r.host, "%.2f").c_str());
    std::fflush(stdout);
  }
}

void moe_header() {
  std::printf("| scale | dim  | map     | batch | mode       | median ms |    min ms | x batched | peak MiB | host ms |\n");
  std::printf("|-------|------|---------|-------|------------|-----------|-----------|-----------|----------|---------|\n");
}

void attention_row(Bench& bench, const std::string& op, const std::string& shape, const std::function<Step()>& prep) {
  const Result r = bench.run(op, shape, prep);
  if (r.median <= 0 && !bench.only.empty()) return;
  std::printf("| %-32s | %-30s | %9s | %9s | %8s |\n", op.c_str(), shape.c_str(), Bench::fmt(r.median, "%.3f").c_str(),
              Bench::fmt(r.min, "%.3f").c_str(), peak_text(r).c_str());
  std::fflush(stdout);
}

// The recorded routing of `batch_index`'s batch at each scale ([B, k] row-major), checked against the
// pool; printed with its per-expert counts.
std::vector<std::vector<int64_t>> recorded_routing(const std::string& path, int64_t batch_index, int64_t B,
                                                   int64_t E, int64_t k) {
  const models::RoutingRecord rec = models::RoutingRecord::load(path);
  CUTTLE_CHECK(rec.scales() == 4 && rec.num_experts() == E && rec.top_k() == k, "bench_moe: routing file '", path,
               "' records ", rec.scales(), " scales of ", rec.num_experts(), " experts, top-", rec.top_k(),
               "; camoxpert-pvt-b2 has 4 scales of ", E, " experts, top-", k);
  CUTTLE_CHECK((batch_index + 1) * B <= rec.images(), "bench_moe: routing file '", path, "' holds ", rec.images(),
               " images; --routing-batch ", batch_index, " at batch ", B, " needs ", (batch_index + 1) * B);
  std::string from;
  for (const auto& [key, value] : rec.metadata) from += (from.empty() ? "" : ", ") + key + " " + value;
  std::printf("routing \"trained\": images %lld..%lld of %s (%lld images; %s)\n", (long long)(batch_index * B),
              (long long)((batch_index + 1) * B - 1), path.c_str(), (long long)rec.images(), from.c_str());
  std::vector<std::vector<int64_t>> out;
  for (int64_t s = 0; s < 4; ++s) {
    out.push_back(rec.batch(s, batch_index * B, B).to_vector<int64_t>());
    std::printf("  s%lld: %s\n", (long long)(s + 1), routing_note(out.back(), B, k, E, false).c_str());
  }
  return out;
}

// --op-counts: engine ops (on a GPU nearly one kernel each) of one forward+backward step of every
// MoE mode at each scale under the uniform routing, and of each expert alone on its uniform
// sub-batch, with the most frequent ops of the batched step; nothing is timed.
// What the op-level modes (--op-counts, --op-host-times, --conv-times) share: the config, the shapes
// and the uniform routing.
struct MoESetup {
  models::CamoXpertConfig c;
  Sizes s;
  int64_t E, k, B;
  std::vector<int64_t> uniform;
};

MoESetup moe_setup(bool quick, int64_t batch) {
  MoESetup setup;
  setup.c = models::load_camoxpert_config(apps::find_shipped_config("camoxpert-pvt-b2"));
  setup.s = quick ? quick_sizes() : full_sizes(setup.c, batch);
  setup.E = (int64_t)setup.c.moe.experts.size();
  setup.k = setup.c.moe.top_k;
  setup.B = setup.s.batch;
  setup.uniform = uniform_routing(setup.B, setup.k, setup.E, 0);
  return setup;
}

// The rows of the op-level timings (--op-host-times, --conv-times): each scale in the batched and
// dense_soft modes under the uniform routing, those --only selects ("s2 batched"), each handed to fn
// with its label, its input shape and its step.
void for_each_moe_row(const MoESetup& setup, Device d, const std::string& only,
                      const std::function<void(const std::string& row, const std::string& shape, const Step& step)>& fn) {
  for (size_t i = 0; i < 4; ++i) {
    const int64_t dim = setup.s.dims[i], map = setup.s.maps[i], sr = setup.c.moe.sr_ratios[i];
    for (layers::MoEMode m : {layers::MoEMode::batched, layers::MoEMode::dense_soft}) {
      const std::string row = "s" + std::to_string(i + 1) + " " + mode_name(m);
      if (!bench::row_selected(row, only)) continue;
      fn(row, shape4(setup.B, dim, map, map), moe_step(setup.c, dim, map, sr, setup.B, setup.uniform, m, d));
    }
  }
}

int op_counts(Device d, bool quick, int64_t batch) {
  const MoESetup setup = moe_setup(quick, batch);
  const models::CamoXpertConfig& c = setup.c;
  const Sizes& s = setup.s;
  const int64_t E = setup.E, k = setup.k, B = setup.B;
  const std::vector<int64_t>& uniform = setup.uniform;
  using engine::count_ops;
  auto total = engine::OpTrace::total_ops;
  std::printf("bench_moe --op-counts: %s; engine ops per forward+backward step (training mode), batch %lld, "
              "uniform routing\n\n", engine::describe_device(d).c_str(), (long long)B);
  std::printf("| scale | dim  | batched | per_sample | dense_soft |");
  for (const std::string& t : c.moe.experts) std::printf(" %s |", t.c_str());
  std::printf("\n|-------|------|---------|------------|------------|");
  for (size_t e = 0; e < c.moe.experts.size(); ++e) std::printf("---:|");
  std::printf("\n");
  std::map<std::string, int64_t> batched_ops;
  for (size_t i = 0; i < 4; ++i) {
    const int64_t dim = s.dims[i], map = s.maps[i], sr = c.moe.sr_ratios[i];
    std::printf("| s%zu    | %4lld |", i + 1, (long long)dim);
    for (layers::MoEMode m : {layers::MoEMode::batched, layers::MoEMode::per_sample, layers::MoEMode::dense_soft}) {
      const auto ops = count_ops(moe_step(c, dim, map, sr, B, uniform, m, d));
      if (m == layers::MoEMode::batched && i == 0) batched_ops = ops;
      std::printf(" %*lld |", m == layers::MoEMode::batched ? 7 : 10, (long long)total(ops));
    }
    for (const std::string& type : c.moe.experts) {
      engine::Generator gen(5);
      layers::ExpertOptions eo;
      eo.sr_ratio = sr;
      auto expert = layers::make_expert(type, dim, gen, eo);
      expert->to(d);
      expert->train();
      const int64_t sub = (B * k + E - 1) / E;
      const Tensor x = input({sub, dim, map, map}, d, 2), gy = input({sub, dim, map, map}, d, 3);
      const auto ops = count_ops([&] {
        expert->zero_grad();
        (*expert)(Var(x, true)).backward(gy);
      });
      std::printf(" %lld |", (long long)total(ops));
    }
    std::printf("\n");
  }
  std::printf("\nbatched step at s1, ops by name: %s\n", engine::ops_by_frequency(batched_ops).c_str());
  return 0;
}

// --op-host-times: where the host's time goes in one MoE step. On a GPU an op returns once its
// kernels are enqueued, so the host time inside each op is its launch cost; what the step spends
// outside ops is autograd and module bookkeeping. The device is drained before each step, so the
// step's host time excludes waiting for earlier work (the routing read-back waits for the router only).
int op_host_times(Device d, bool quick, int64_t batch, int warmup, int reps, const std::string& only) {
  const MoESetup setup = moe_setup(quick, batch);
  std::printf("bench_moe --op-host-times: %s; %d side streams; host time per forward+backward step (training "
              "mode), batch %lld, uniform routing, mean of %d steps after %d\n",
              engine::describe_device(d).c_str(), engine::branch_streams(), (long long)setup.B, reps, warmup);
  for_each_moe_row(setup, d, only, [&](const std::string& row, const std::string& shape, const Step& step) {
    for (int w = 0; w < warmup; ++w) step();
    double host_ms = 0;
    engine::OpTrace trace;
    for (int r = 0; r < reps; ++r) {
      bench::drain(d);
      const auto t0 = std::chrono::steady_clock::now();
      step();
      host_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    bench::drain(d);
    std::vector<std::pair<int64_t, std::string>> by_time;
    int64_t in_ops_ns = 0;
    for (const auto& [name, ns] : trace.host_ns()) {
      by_time.emplace_back(ns, name);
      in_ops_ns += ns;
    }
    std::sort(by_time.rbegin(), by_time.rend());
    const double per = 1.0 / reps;
    std::printf("\n%s %s: host %.2f ms per step, %.2f ms inside %lld ops, %.2f ms outside\n", row.c_str(),
                shape.c_str(), host_ms * per, in_ops_ns * 1e-6 * per, (long long)(trace.total() / reps),
                (host_ms - in_ops_ns * 1e-6) * per);
    std::printf("  op: ms per step, calls, us per call\n");
    for (size_t j = 0; j < by_time.size() && j < 14; ++j) {
      const int64_t n = trace.counts().at(by_time[j].second);
      std::printf("  %-28s %7.3f %5lld %8.1f\n", by_time[j].second.c_str(), by_time[j].first * 1e-6 * per,
                  (long long)(n / reps), by_time[j].first * 1e-3 / (double)n);
    }
    std::printf("  by section (engine/op_trace.h HostSection; inside ops and out): ms per step, entries, us per entry\n");
    for (const auto& [name, ns] : trace.section_ns()) {
      const int64_t n = trace.section_counts().at(name);
      std::printf("  %-40s %7.3f %5lld %8.1f\n", name.c_str(), ns * 1e-6 * per, (long long)(n / reps),
                  ns * 1e-3 / (double)n);
    }
  });
  return 0;
}

// --conv-times: each convolution of one MoE step (batched, dense_soft) timed alone on the device, by
// shape: which convolutions a mode spends its device time on, and how a shape's time scales from the
// experts' sub-batches to the full batch. The sum leaves out everything but convolutions and runs them
// one after another (the step overlaps the experts on side streams).
double conv_call_ms(const engine::ConvCall& call, Device d, int warmup, int reps) {
  using engine::ConvPass;
  const engine::Shape ys = engine::conv2d_output_shape(call.x, call.w, call.p);
  const Tensor x = input(call.x, d, 21);
  Tensor w = input(call.w, d, 22);
  engine::mul_scalar_(w, 0.05);
  const Tensor gy = input(ys, d, 23), b = call.bias ? input({call.w[0]}, d, 24) : Tensor();
  Step fn;
  switch (call.pass) {
    case ConvPass::forward: fn = [=] { engine::conv2d(x, w, b, call.p); }; break;
    case ConvPass::backward_input: fn = [=] { engine::conv2d_backward_input(gy, w, call.x, call.p); }; break;
    case ConvPass::backward_weight: fn = [=] { engine::conv2d_backward_weight(gy, x, call.w, call.p); }; break;
  }
  return bench::time_it(fn, warmup, reps, d).median_ms;
}

int conv_times(Device d, bool quick, int64_t batch, int warmup, int reps, const std::string& only) {
  const MoESetup setup = moe_setup(quick, batch);
  std::printf("bench_moe --conv-times: %s; each convolution of a forward+backward step (training mode, batch "
              "%lld, uniform routing) timed alone, median of %d calls after %d\n",
              engine::describe_device(d).c_str(), (long long)setup.B, reps, warmup);
  for_each_moe_row(setup, d, only, [&](const std::string& row, const std::string& shape, const Step& step) {
    const double step_ms = bench::time_it(step, warmup, reps, d).median_ms;
    std::vector<engine::ConvCall> calls;
    {
      engine::ConvLog log;
      step();
      calls = log.calls();
    }
    bench::drain(d);
    // Distinct (pass, shape) in first-call order, with their counts.
    std::vector<std::pair<engine::ConvCall, int64_t>> distinct;
    std::map<std::string, size_t> at;
    for (const engine::ConvCall& call : calls) {
      const std::string key = std::string(engine::conv_pass_name(call.pass)) + " " + call.key();
      const auto [it, fresh] = at.emplace(key, distinct.size());
      if (fresh) distinct.push_back({call, 0});
      ++distinct[it->second].second;
    }
    std::vector<std::pair<double, size_t>> by_time;  // (ms per step, index)
    double total = 0;
    for (size_t j = 0; j < distinct.size(); ++j) {
      const double ms = conv_call_ms(distinct[j].first, d, warmup, reps) * (double)distinct[j].second;
      by_time.push_back({ms, j});
      total += ms;
    }
    std::sort(by_time.rbegin(), by_time.rend());
    std::printf("\n%s %s: step %.3f ms; %zu convolutions (%zu distinct) take %.3f ms alone\n", row.c_str(),
                shape.c_str(), step_ms, calls.size(), distinct.size(), total);
    std::printf("  %8s %5s %8s  %-15s %s\n", "ms/step", "calls", "us/call", "pass", "shape");
    for (const auto& [ms, j] : by_time) {
      const auto& [call, n] = distinct[j];
      std::printf("  %8.3f %5lld %8.1f  %-15s %s\n", ms, (long long)n, 1e3 * ms / (double)n,
                  engine::conv_pass_name(call.pass), call.key().c_str());
    }
    std::fflush(stdout);
  });
  return 0;
}

int run_all(Device d, bool quick, int64_t batch, int warmup, int reps, bool tf32, const std::string& tsv_path,
            const std::string& only, const std::string& routing_file, int64_t routing_batch) {
  const models::CamoXpertConfig c = models::load_camoxpert_config(apps::find_shipped_config("camoxpert-pvt-b2"));
  CUTTLE_CHECK(c.backbone.dims.size() == 4 && c.moe.sr_ratios.size() == 4,
               "bench_moe: camoxpert-pvt-b2 must give 4 backbone dims and 4 sr ratios");
  const Sizes s = quick ? quick_sizes() : full_sizes(c, batch);
  const models::PvtV2Config pvt = models::pvt_v2_b2();
  const int64_t E = (int64_t)c.moe.experts.size(), k = c.moe.top_k;
  Bench bench(d, warmup, reps, tsv_path);
  bench.only = only;

  std::printf("bench_moe: %s, tf32 %s, %d side streams, %d warm-up + %d timed calls, median and min in ms, "
              "forward+backward in training mode%s\n", engine::describe_device(d).c_str(), tf32 ? "on" : "off",
              d.is_cuda() ? engine::branch_streams() : 0, warmup, reps, quick ? " (--quick: tiny shapes)" : "");
  std::string pool;
  for (const std::string& t : c.moe.experts) pool += (pool.empty() ? "" : ", ") + t;
  std::printf("expert pool (camoxpert-pvt-b2): %s; top-%lld\n", pool.c_str(), (long long)k);
  const std::vector<int64_t> uniform = uniform_routing(s.batch, k, E, 0);
  std::printf("routing \"uniform\" (frozen, seeded): %s\n", routing_note(uniform, s.batch, k, E).c_str());
  std::vector<std::vector<int64_t>> trained;
  if (!routing_file.empty()) trained = recorded_routing(routing_file, routing_batch, s.batch, E, k);
  std::printf("\n== SparseMoE per scale of camoxpert-pvt-b2 ==\n");
  moe_header();
  for (size_t i = 0; i < 4; ++i)
    moe_rows(bench, c, "s" + std::to_string(i + 1), s.dims[i], s.maps[i], c.moe.sr_ratios[i], s.batch, uniform,
             "uniform", d);
  if (!trained.empty()) {
    std::printf("\n== SparseMoE per scale of camoxpert-pvt-b2, the recorded (trained) routing ==\n");
    moe_header();
    for (size_t i = 0; i < 4; ++i)
      moe_rows(bench, c, "s" + std::to_string(i + 1), s.dims[i], s.maps[i], c.moe.sr_ratios[i], s.batch, trained[i],
               "trained", d);
  }

  // The original's shape: 22x22 is the stride-16 scale, so its sr ratio (index 2) applies.
  std::printf("\n== SparseMoE, the original's benchmark shape (dim %lld, %lldx%lld, sr %lld) ==\n",
              (long long)s.orig_dim, (long long)s.orig_map, (long long)s.orig_map, (long long)c.moe.sr_ratios[2]);
  for (int64_t B : s.orig_batches)
    std::printf("routing at batch %lld: %s\n", (long long)B, routing_note(uniform_routing(B, k, E, 0), B, k, E).c_str());
  moe_header();
  for (int64_t B : s.orig_batches)
    moe_rows(bench, c, "orig", s.orig_dim, s.orig_map, c.moe.sr_ratios[2], B, uniform_routing(B, k, E, 0), "uniform", d);

  std::printf("\n== attention: PVTv2-b2 spatial-reduction attention per stage, CODAttention per MoE scale ==\n");
  std::printf("| %-32s | %-30s | median ms |    min ms | peak MiB |\n", "op", "shape");
  std::printf("|%s|%s|-----------|-----------|----------|\n", std::string(34, '-').c_str(), std::string(32, '-').c_str());
  const int64_t B = s.batch;
  for (size_t i = 0; i < 4; ++i) {
    const int64_t dim = s.dims[i], map = s.maps[i], heads = pvt.num_heads[i], sr = pvt.sr_ratios[i];
    const int64_t N = map * map, M = (map / sr) * (map / sr), hd = dim / heads;
    attention_row(bench, "SRA module", "[" + std::to_string(B) + "," + std::to_string(N) + "," + std::to_string(dim) +
                  "] h" + std::to_string(heads) + " sr" + std::to_string(sr),
                  [&] { return sra_step(dim, heads, sr, map, B, d); });
    attention_row(bench, "attention core", "q" + shape4(B, heads, N, hd) + " kv" + std::to_string(M),
                  [&] { return core_step(B, heads, N, M, hd, d); });
  }
  for (size_t i = 0; i < 4; ++i) {
    const int64_t dim = s.dims[i], map = s.maps[i], sr = c.moe.sr_ratios[i];
    attention_row(bench, "CODAttention expert",
                  shape4(B, dim, map, map) + " h" + std::to_string(layers::CODAttentionExpert::heads_for(dim)) +
                      " sr" + std::to_string(sr),
                  [&] { return cod_attention_step(dim, sr, map, B, d); });
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_moe: SparseMoE (batched / per_sample / dense_soft) and attention, forward+backward ms"};
  int warmup = 5, reps = 21, threads = 0;
  int64_t batch = 16;
  std::string device_name = "auto", tsv, tf32 = "off";
  bool quick = false;
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed calls before timing (--quick: 1)")->capture_default_str();
  app.add_option("--reps", reps, "timed calls; the median is reported (--quick: 3)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "batch of the moe and attention lists")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--tsv", tsv, "also write every row to this tab-separated file (tools/bench_compare.py)");
  app.add_option("--tf32", tf32, "TF32 tensor cores in cuDNN and cuBLAS (match bench_moe_torch.py --tf32)")
      ->capture_default_str()->check(CLI::IsMember({"on", "off"}));
  app.add_flag("--quick", quick, "tiny shapes, 1 warm-up + 3 timed calls: a smoke run on the CPU");
  app.add_option("--threads", threads, "CPU threads (0 = OpenMP default)")->capture_default_str();
  int plan_search = 0;
  app.add_option("--cudnn-plan-search", plan_search,
                 "CUDA: engine configurations the first use of a convolution shape times (0 = the default)");
  bool legacy = false;
  app.add_flag("--cudnn-legacy", legacy,
               "CUDA: convolutions through cuDNN's legacy API (cudnnConvolutionForward & co.) instead of its graph API");
  apps::add_branch_streams_option(app);
  std::string only, routing_file;
  int64_t routing_batch = 0;
  app.add_option("--routing-file", routing_file, "also run the moe list under this recorded routing "
                                                 "(infer_cod --routing-out of a trained camoxpert-pvt-b2)");
  app.add_option("--routing-batch", routing_batch, "which batch of the routing file: images [J*batch, (J+1)*batch)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--only", only, "run only the rows whose \"op shape\" contains this text, or one of "
                                 "several separated by '|', e.g. \"batched (uniform) [16,|dense_soft (uniform) [16,\"");
  bool ops = false, host_times = false, conv_timing = false;
  app.add_flag("--op-host-times", host_times, "time the host side of each MoE step (batched, dense_soft) by engine op "
                                              "instead of timing the device (--only filters \"s2 batched\"-style rows)");
  app.add_flag("--conv-times", conv_timing, "time each convolution of a MoE step (batched, dense_soft) alone, by "
                                             "shape (--only filters \"s2 batched\"-style rows)");
  app.add_flag("--op-counts", ops, "count the engine ops (about one kernel each on a GPU) of each MoE step and "
                                   "expert instead of timing");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    if (!app.count("--warmup")) warmup = 1;
    if (!app.count("--reps")) reps = 3;
  }
  if (threads > 0) engine::set_num_threads(threads);
  try {
    const Device device = engine::parse_device(device_name);
#ifdef CUTTLE_WITH_CUDA
    engine::cuda::set_allow_tf32(tf32 == "on");
    if (plan_search > 0) engine::cuda::set_cudnn_plan_search(plan_search);
    if (legacy) engine::cuda::set_cudnn_graph_api(false);
#endif
    if (ops) return op_counts(device, quick, batch);
    if (host_times) return op_host_times(device, quick, batch, warmup, reps, only);
    if (conv_timing) return conv_times(device, quick, batch, warmup, reps, only);
    return run_all(device, quick, batch, warmup, reps, tf32 == "on", tsv, only, routing_file, routing_batch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_moe: %s\n", e.what());
    return 1;
  }
}
