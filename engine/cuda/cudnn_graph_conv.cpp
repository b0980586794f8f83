// Convolution through cuDNN's graph (backend) API (engine/cuda/cudnn_graph_conv.h).
#include "engine/cuda/cudnn_graph_conv.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/cuda/cublas.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/cudnn_handle.h"
#include "engine/cuda/runtime.h"
#include "engine/op_trace.h"

// The plan's handle attribute is marked deprecated in newer headers; the runtimes this project meets
// (9.14 on the GPU machine) still take it, as cuDNN's own frontend does.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace cuttle::engine::cuda {

namespace {

std::atomic<bool> g_graph_api{true};
std::atomic<int64_t> g_graph_runs{0};
std::atomic<int64_t> g_packs_built{0};

// A backend descriptor destroyed with its owner.
class Desc {
 public:
  explicit Desc(cudnnBackendDescriptorType_t type) { CUTTLE_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_)); }
  ~Desc() {
    if (d_) cudnnBackendDestroyDescriptor(d_);
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }
  template <typename T>
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const T* values, int64_t count) {
    CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(d_, name, type, count, values));
  }
  void finalize() { CUTTLE_CUDNN_CHECK(cudnnBackendFinalize(d_)); }
  cudnnStatus_t try_finalize() { return cudnnBackendFinalize(d_); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

constexpr int64_t kUidX = 'x', kUidW = 'w', kUidY = 'y';

// Largest power of two up to 16 dividing every address: the alignment the tensors promise cuDNN.
int64_t alignment_of(const void* a, const void* b, const void* c) {
  const uintptr_t bits = reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b) | reinterpret_cast<uintptr_t>(c);
  int64_t align = 16;
  while (align > 1 && bits % align != 0) align /= 2;
  return align;
}

std::unique_ptr<Desc> tensor_desc(int64_t uid, const Shape& s, cudnnDataType_t dt, int64_t align) {
  auto t = std::make_unique<Desc>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const std::array<int64_t, 4> dims{s[0], s[1], s[2], s[3]};
  const std::array<int64_t, 4> strides{s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
  t->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &dt, 1);
  t->set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims.data(), 4);
  t->set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides.data(), 4);
  t->set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid, 1);
  t->set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &align, 1);
  t->finalize();
  return t;
}

// The variant packs of a candidate's latest runs: a step that allocates the same way every time runs
// a convolution on the same addresses, and then a finalized pack is reused instead of rebuilt. A few
// are kept: one plan serves every call site of its shape (several layers, several experts).
struct KeptPacks {
  struct Entry {
    std::array<void*, 4> ptrs{};  // x, w, y, workspace
    std::shared_ptr<Desc> pack;
  };
  std::mutex mu;
  std::array<Entry, 8> entries;
  size_t next = 0;  // the entry the next new pack replaces (oldest first)

  std::shared_ptr<Desc> find(const std::array<void*, 4>& ptrs) {
    std::lock_guard<std::mutex> lock(mu);
    for (const Entry& e : entries)
      if (e.pack && e.ptrs == ptrs) return e.pack;
    return nullptr;
  }
  void keep(const std::array<void*, 4>& ptrs, std::shared_ptr<Desc> pack) {
    std::lock_guard<std::mutex> lock(mu);
    entries[next] = {ptrs, std::move(pack)};
    next = (next + 1) % entries.size();
  }
};
// A built plan and the workspace it needs; an entry without a plan records that none qualified. The
// descriptors the plan was built from stay alive with it (the engine configuration refers to the
// operation graph, which refers to the tensors).
struct Candidate {
  std::unique_ptr<Desc> plan;
  int64_t workspace = 0;
  int64_t engine = -1;  // cuDNN's global engine index, for the plan log
  std::string notes;    // its numerical notes, for the plan log
  std::unique_ptr<KeptPacks> kept = std::make_unique<KeptPacks>();
};
struct Plan {
  std::vector<std::unique_ptr<Desc>> sources;
  std::vector<Candidate> candidates;  // in the heuristics' order, each within the cap and the math rules
  int chosen = -1;                    // index into candidates once timed (or when there is one)
};

std::atomic<int> g_plan_search{1};

// CUTTLE_CUDNN_LOG=1 prints each plan as it is built: which engine, how much workspace.
bool log_plans() {
  static const bool on = [] {
    const char* v = std::getenv("CUTTLE_CUDNN_LOG");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

// cuDNN's FFT engines, which its heuristics rank first for many f32 convolutions over 44x44 maps,
// are passed over for 3x3 kernels: there the next engines were as fast or faster in every direction
// and MoE shape measured (a 3x3 128->32 input gradient on five samples: 139 us with FFT, 47 without),
// while 5x5 and 7x7 kernels need them (a 7x7 input gradient: 164 against 772 us; docs/PERFORMANCE.md,
// H100, cuDNN 9.14). CUTTLE_CUDNN_FFT=0 passes over them everywhere, =1 nowhere (measurements).
enum class FftEngines { rule, never, always };
FftEngines fft_engines() {
  static const FftEngines mode = [] {
    const char* v = std::getenv("CUTTLE_CUDNN_FFT");
    if (!v || !*v || std::string(v) == "rule") return FftEngines::rule;
    if (std::string(v) == "0") return FftEngines::never;
    if (std::string(v) == "1") return FftEngines::always;
    CUTTLE_FAIL("CUTTLE_CUDNN_FFT must be rule, 0 or 1, got '", v, "'");
    return FftEngines::rule;
  }();
  return mode;
}

bool fft_engine_allowed(const Shape& ws) {
  switch (fft_engines()) {
    case FftEngines::never: return false;
    case FftEngines::always: return true;
    case FftEngines::rule: break;
  }
  return !(ws[2] == 3 && ws[3] == 3);
}

const char* conv_kind_name(ConvKind kind) {
  switch (kind) {
    case ConvKind::forward: return "forward";
    case ConvKind::backward_data: return "backward data";
    case ConvKind::backward_filter: return "backward filter";
  }
  return "?";
}

int64_t engine_index(cudnnBackendDescriptor_t cfg) {
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t e = engine.get();
  int64_t got = 0, index = -1;
  if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got, &e) !=
      CUDNN_STATUS_SUCCESS)
    return -1;
  if (cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &got, &index) !=
      CUDNN_STATUS_SUCCESS)
    return -1;
  return index;
}

struct PlanCache {
  std::mutex mu;
  // Held for a whole plan search: with the slot workers, two threads timing candidates at once would
  // each count the other's kernels, and a second search of one shape is wasted work.
  std::mutex search_mu;
  std::map<std::vector<int64_t>, std::shared_ptr<Plan>> plans;
  std::map<std::vector<int64_t>, int64_t> bucket_engine;  // timed winner per batch-size bucket
};
std::atomic<int64_t> g_plan_searches{0};
PlanCache& plan_cache() {
  static PlanCache* c = new PlanCache();  // never destroyed: convolutions may run during exit
  return *c;
}

// An engine configuration's numerical notes; false when they cannot be read.
bool engine_notes(cudnnBackendDescriptor_t cfg, std::vector<cudnnBackendNumericalNote_t>& out) {
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t e = engine.get();
  int64_t got = 0;
  if (cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got, &e) !=
      CUDNN_STATUS_SUCCESS)
    return false;
  std::array<cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_TYPE_COUNT> notes{};
  int64_t count = 0;
  if (cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE, (int64_t)notes.size(),
                               &count, notes.data()) != CUDNN_STATUS_SUCCESS)
    return false;
  out.assign(notes.begin(), notes.begin() + count);
  return true;
}

// The notes as the plan log prints them.
std::string notes_text(const std::vector<cudnnBackendNumericalNote_t>& notes) {
  std::string out;
  for (cudnnBackendNumericalNote_t n : notes) {
    const char* name = "other";
    switch (n) {
      case CUDNN_NUMERICAL_NOTE_TENSOR_CORE: name = "tensor-core"; break;
      case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS: name = "down-convert"; break;
      case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION: name = "reduced-precision-reduction"; break;
      case CUDNN_NUMERICAL_NOTE_FFT: name = "fft"; break;
      case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC: name = "nondeterministic"; break;
      case CUDNN_NUMERICAL_NOTE_WINOGRAD: name = "winograd"; break;
      default: break;
    }
    out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out;
}

// Why an engine's numerical notes rule it out under the current math rules; nullptr when they allow it.
// Down-converting engines never qualify; tensor-core ones for f32 only with TF32 on; nondeterministic
// ones not in deterministic mode (the rules PyTorch applies to the same list); FFT ones not for 3x3
// kernels (fft_engine_allowed).
const char* engine_refusal(const std::vector<cudnnBackendNumericalNote_t>& notes, DType dt, const Shape& ws) {
  const bool fma_only = dt == DType::f32 && !allow_tf32();
  for (const cudnnBackendNumericalNote_t n : notes) {
    if (n == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) return "down-converts inputs";
    if (fma_only && n == CUDNN_NUMERICAL_NOTE_TENSOR_CORE) return "tensor cores (TF32 off)";
    if (cudnn_deterministic() && n == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC) return "nondeterministic";
    if (n == CUDNN_NUMERICAL_NOTE_FFT && !fft_engine_allowed(ws)) return "FFT (3x3 kernel, or CUTTLE_CUDNN_FFT=0)";
  }
  return nullptr;
}

std::shared_ptr<Plan> build_plan(ConvKind kind, cudnnHandle_t h, DType dt, const Shape& xs, const Shape& ws,
                                 const Shape& ys, const Conv2dParams& p, int64_t align) {
  auto result = std::make_shared<Plan>();
  const cudnnDataType_t t = dt == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  auto keep = [&](std::unique_ptr<Desc> d) -> Desc& {
    result->sources.push_back(std::move(d));
    return *result->sources.back();
  };
  Desc& x = keep(tensor_desc(kUidX, xs, t, align));
  Desc& w = keep(tensor_desc(kUidW, ws, t, align));
  Desc& y = keep(tensor_desc(kUidY, ys, t, align));

  Desc& conv = keep(std::make_unique<Desc>(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR));
  const int64_t dims = 2;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const std::array<int64_t, 2> dil{p.dil_h, p.dil_w}, stride{p.stride_h, p.stride_w}, pad{p.pad_h, p.pad_w};
  conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &t, 1);
  conv.set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, &mode, 1);
  conv.set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, &dims, 1);
  conv.set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, dil.data(), 2);
  conv.set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, stride.data(), 2);
  conv.set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, pad.data(), 2);
  conv.set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, pad.data(), 2);
  conv.finalize();

  // alpha and beta are fixed in the plan: 1 and 0 (accumulating filter chunks take the legacy path).
  cudnnBackendDescriptorType_t op_type = CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR;
  if (kind == ConvKind::backward_data) op_type = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR;
  if (kind == ConvKind::backward_filter) op_type = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR;
  Desc& op = keep(std::make_unique<Desc>(op_type));
  cudnnBackendDescriptor_t xd = x.get(), wd = w.get(), yd = y.get(), cd = conv.get();
  const float alpha_f = 1.0f, beta0_f = 0.0f;
  const double alpha_d = 1.0, beta0_d = 0.0;
  const cudnnBackendAttributeType_t scalar_type = dt == DType::f64 ? CUDNN_TYPE_DOUBLE : CUDNN_TYPE_FLOAT;
  const void* alpha = dt == DType::f64 ? static_cast<const void*>(&alpha_d) : static_cast<const void*>(&alpha_f);
  const void* beta0 = dt == DType::f64 ? static_cast<const void*>(&beta0_d) : static_cast<const void*>(&beta0_f);
  switch (kind) {
    case ConvKind::forward:
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, &xd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, &wd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, &yd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &cd, 1);
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, scalar_type,
                                                  1, alpha));
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, scalar_type,
                                                  1, beta0));
      break;
    case ConvKind::backward_data:
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_TYPE_BACKEND_DESCRIPTOR, &xd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, &wd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, &yd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &cd, 1);
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
                                                  scalar_type, 1, alpha));
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
                                                  scalar_type, 1, beta0));
      break;
    case ConvKind::backward_filter:
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, &xd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_TYPE_BACKEND_DESCRIPTOR, &wd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, &yd, 1);
      op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, &cd, 1);
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
                                                  scalar_type, 1, alpha));
      CUTTLE_CUDNN_CHECK(cudnnBackendSetAttribute(op.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA,
                                                  scalar_type, 1, beta0));
      break;
  }
  if (op.try_finalize() != CUDNN_STATUS_SUCCESS) return result;

  Desc& graph = keep(std::make_unique<Desc>(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
  cudnnBackendDescriptor_t opd = op.get();
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, &opd, 1);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &h, 1);
  if (graph.try_finalize() != CUDNN_STATUS_SUCCESS) return result;

  Desc& heur = keep(std::make_unique<Desc>(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR));
  cudnnBackendDescriptor_t gd = graph.get();
  const cudnnBackendHeurMode_t heur_mode = CUDNN_HEUR_MODE_A;
  heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, &gd, 1);
  heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &heur_mode, 1);
  if (heur.try_finalize() != CUDNN_STATUS_SUCCESS) return result;
  int64_t available = 0;
  CUTTLE_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &available, nullptr));
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < available; ++i)
    raw.push_back(keep(std::make_unique<Desc>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR)).get());
  int64_t got = 0;
  if (available > 0)
    CUTTLE_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                CUDNN_TYPE_BACKEND_DESCRIPTOR, available, &got, raw.data()));
  const int64_t cap = (int64_t)cudnn_workspace_limit();
  std::string passed_over;  // "engine: reason; ..." for the plan log
  auto pass_over = [&](int64_t i, const char* why) {
    if (log_plans()) passed_over += " " + std::to_string(engine_index(raw[(size_t)i])) + ":" + why + ";";
  };
  for (int64_t i = 0; i < got; ++i) {
    cudnnBackendDescriptor_t cfg = raw[(size_t)i];
    std::vector<cudnnBackendNumericalNote_t> notes;
    if (!engine_notes(cfg, notes)) {
      pass_over(i, "notes unreadable");
      continue;
    }
    if (const char* why = engine_refusal(notes, dt, ws)) {
      pass_over(i, why);
      continue;
    }
    auto plan = std::make_unique<Desc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    plan->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &h, 1);
    plan->set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, &cfg, 1);
    if (plan->try_finalize() != CUDNN_STATUS_SUCCESS) {
      pass_over(i, "no plan");
      continue;
    }
    int64_t ws = 0, n = 0;
    CUTTLE_CUDNN_CHECK(cudnnBackendGetAttribute(plan->get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                                CUDNN_TYPE_INT64, 1, &n, &ws));
    if (ws > cap) {
      pass_over(i, ("workspace " + std::to_string(ws) + " bytes over the cap").c_str());
      continue;
    }
    result->candidates.push_back({std::move(plan), ws, engine_index(cfg), log_plans() ? notes_text(notes) : ""});
    if ((int)result->candidates.size() >= std::max(1, g_plan_search.load())) break;
  }
  if (result->candidates.size() == 1 || cudnn_deterministic()) result->chosen = result->candidates.empty() ? -1 : 0;
  if (log_plans()) {
    std::string engines;
    for (const Candidate& c : result->candidates)
      engines += " " + std::to_string(c.engine) + " (workspace " + std::to_string(c.workspace) + " bytes" +
                 (c.notes.empty() ? "" : "; " + c.notes) + ")";
    std::fprintf(stderr, "cuttle cudnn plan: %s x %s w %s y %s stride %lld pad %lld dil %lld groups %lld: %s\n",
                 conv_kind_name(kind), shape_str(xs).c_str(), shape_str(ws).c_str(), shape_str(ys).c_str(),
                 (long long)p.stride_h, (long long)p.pad_h, (long long)p.dil_h, (long long)p.groups,
                 (result->candidates.empty() ? "no engine qualifies (legacy path)" : "candidates" + engines)
                     .append("; passed over:")
                     .append(passed_over)
                     .c_str());
  }
  return result;
}

// The first use of a shape with several candidates runs each twice on the call's own buffers and
// times the second run (every candidate computes the same function, so whatever ran last leaves a
// valid result; the caller runs the winner afterwards all the same). A few runs of one convolution,
// once per shape: no stall of the kind cudnnFind's exhaustive search causes, and cuDNN's mode-A
// ranking misorders some shapes (a 7x7 64->16 forward at 88x88: 1.14 ms for its first choice, 0.33 ms
// for its third). Returns the fastest candidate that ran, -1 when none could (no memory).
template <typename Execute>
int search_plans(const Plan& plan, int device, const Execute& execute) {
  cudaStream_t s = stream(device);
  cudaEvent_t start, stop;
  CUTTLE_CUDA_CHECK(cudaEventCreate(&start));
  CUTTLE_CUDA_CHECK(cudaEventCreate(&stop));
  int best = -1;
  float best_ms = 0;
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    // An untimed run first: a kernel's first launch loads its module (lazy loading), which would
    // otherwise decide the ranking.
    if (execute(plan.candidates[i]) != CUDNN_STATUS_SUCCESS) continue;
    CUTTLE_CUDA_CHECK(cudaEventRecord(start, s));
    const auto host_start = std::chrono::steady_clock::now();
    const cudnnStatus_t st = execute(plan.candidates[i]);
    const double host_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - host_start).count();
    CUTTLE_CUDA_CHECK(cudaEventRecord(stop, s));
    CUTTLE_CUDA_CHECK(cudaEventSynchronize(stop));
    if (st != CUDNN_STATUS_SUCCESS) continue;
    float ms = 0;
    CUTTLE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    // The host's share matters where a step is issue-bound: engines differ in how many kernels they
    // launch per call.
    if (log_plans())
      std::fprintf(stderr, "cuttle cudnn plan:   engine %lld: device %.3f ms, host %.1f us per call\n",
                   (long long)plan.candidates[i].engine, ms, host_us);
    if (best < 0 || ms < best_ms) {
      best = (int)i;
      best_ms = ms;
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (log_plans() && best >= 0)
    std::fprintf(stderr, "cuttle cudnn plan: timed %zu candidates, engine %lld fastest (%.3f ms)\n",
                 plan.candidates.size(), (long long)plan.candidates[(size_t)best].engine, best_ms);
  return best;
}

}  // namespace

void set_cudnn_graph_api(bool on) { g_graph_api = on; }
void set_cudnn_plan_search(int candidates) { g_plan_search = std::max(1, candidates); }
int cudnn_plan_search() { return g_plan_search; }
bool cudnn_graph_api() { return g_graph_api; }
int64_t cudnn_graph_runs() { return g_graph_runs; }
int64_t cudnn_variant_packs_built() { return g_packs_built; }
int64_t cudnn_plan_searches() { return g_plan_searches; }

bool graph_conv(ConvKind kind, int device, DType dt, const Shape& xs, const Shape& ws, const Shape& ys,
                const Conv2dParams& p, void* x, void* w, void* y, double beta) {
  // Accumulating chunks (beyond 2^31 elements) stay on the legacy path, and so does benchmark mode,
  // which times the legacy API's algorithms per shape bucket (cudnn_algo.cpp).
  if (beta != 0.0 || cudnn_benchmark()) return false;
  std::optional<HostSection> lookup_section(std::in_place, "cudnn graph: key and plan lookup");
  const int64_t align = alignment_of(x, w, y);
  const ConvKey base = make_conv_key(kind, device, dt, xs, ws, p);
  std::vector<int64_t> key(base.begin(), base.end());
  key.push_back(align);
  const ConvKey bucket_base = conv_bucket_key(base);
  std::vector<int64_t> bucket(bucket_base.begin(), bucket_base.end());
  bucket.push_back(align);
  PlanCache& c = plan_cache();
  std::shared_ptr<Plan> plan;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.plans.find(key);
    if (it != c.plans.end()) plan = it->second;
  }
  cudnnHandle_t h = cudnn_handle(device);
  if (!plan) {
    plan = build_plan(kind, h, dt, xs, ws, ys, p, align);
    std::lock_guard<std::mutex> lock(c.mu);
    c.plans[key] = plan;
  }
  lookup_section.reset();
  if (plan->candidates.empty()) return false;
  auto execute = [&](const Candidate& cand) -> cudnnStatus_t {
    Tensor workspace;
    if (cand.workspace > 0) {
      HostSection section("cudnn graph: workspace");
      try {
        workspace = Tensor::empty({cand.workspace}, DType::u8, Device::cuda(device));
      } catch (const Error&) {
        return CUDNN_STATUS_ALLOC_FAILED;  // no memory for it
      }
    }
    void* ws_ptr = workspace.defined() ? workspace.raw_data() : nullptr;
    const std::array<void*, 4> ptrs{x, w, y, ws_ptr};
    std::shared_ptr<Desc> pack = cand.kept->find(ptrs);
    if (!pack) {
      HostSection pack_section("cudnn graph: variant pack");
      pack = std::make_shared<Desc>(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
      const std::array<int64_t, 3> uids{kUidX, kUidW, kUidY};
      pack->set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids.data(), 3);
      pack->set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, ptrs.data(), 3);
      pack->set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, &ws_ptr, 1);
      pack->finalize();
      ++g_packs_built;
      cand.kept->keep(ptrs, pack);
    }
    HostSection section("cudnn graph: execute");
    return cudnnBackendExecute(h, cand.plan->get(), pack->get());
  };
  int chosen;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    chosen = plan->chosen;
  }
  std::unique_lock<std::mutex> searching;
  if (chosen < 0) {
    searching = std::unique_lock<std::mutex>(c.search_mu);
    std::lock_guard<std::mutex> lock(c.mu);
    chosen = plan->chosen;  // another thread may have settled it while this one waited
  }
  if (chosen < 0) {
    {  // the bucket's timed winner, when this shape can run it
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.bucket_engine.find(bucket);
      if (it != c.bucket_engine.end())
        for (size_t i = 0; i < plan->candidates.size(); ++i)
          if (plan->candidates[i].engine == it->second) chosen = (int)i;
    }
    if (chosen < 0) {
      chosen = search_plans(*plan, device, execute);
      ++g_plan_searches;
      std::lock_guard<std::mutex> lock(c.mu);
      if (chosen >= 0) c.bucket_engine[bucket] = plan->candidates[(size_t)chosen].engine;
    }
    std::lock_guard<std::mutex> lock(c.mu);
    plan->chosen = chosen;
  }
  if (searching.owns_lock()) searching.unlock();
  if (chosen < 0) return false;  // none ran (no memory): the legacy path has algorithms needing less
  const cudnnStatus_t st = execute(plan->candidates[(size_t)chosen]);
  if (st == CUDNN_STATUS_ALLOC_FAILED) return false;
  CUTTLE_CUDNN_CHECK(st);
  ++g_graph_runs;
  return true;
}

}  // namespace cuttle::engine::cuda
