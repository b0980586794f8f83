// The convolution forms of engine/cuda/conv_form.h: the environment switches, the rules and a per-key
// cache of timed decisions.
#include "engine/cuda/conv_form.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "engine/cuda/cublas.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/runtime.h"
#include "engine/error.h"

namespace cuttle::engine::cuda {

namespace {

// The forward's flipped form is backward-data and the input gradient's is a forward: each switch
// names the other operation (or says "flipped").
ConvForm form_from_env(ConvKind kind) {
  const bool fwd = kind == ConvKind::forward;
  const char* name = fwd ? "CUTTLE_CONV_FORWARD_FORM" : "CUTTLE_CONV_BACKWARD_DATA_FORM";
  const std::string other = fwd ? "backward_data" : "forward";
  const char* v = std::getenv(name);
  if (!v || !*v || std::string(v) == "rule") return ConvForm::rule;
  if (std::string(v) == "timed") return ConvForm::timed;
  if (std::string(v) == "direct") return ConvForm::direct;
  if (std::string(v) == other || std::string(v) == "flipped") return ConvForm::flipped;
  CUTTLE_FAIL(name, " must be rule, timed, direct or ", other, ", got '", v, "'");
  return ConvForm::rule;
}

int slot_of(ConvKind kind) {
  CUTTLE_CHECK(kind == ConvKind::forward || kind == ConvKind::backward_data,
               "conv_form: only the forward and the input gradient have a flipped form");
  return kind == ConvKind::forward ? 0 : 1;
}

std::array<std::atomic<int>, 2> g_form{{-1, -1}};  // -1: not read from the environment yet
std::atomic<int64_t> g_timings{0};

struct FormCache {
  std::mutex mu;
  std::map<ConvKey, bool> flipped;
};
FormCache& form_cache() {
  static FormCache* c = new FormCache();  // never destroyed: convolutions may run during exit
  return *c;
}

// Best of two timed runs of each, alternating, after one untimed run each (lazy module loading).
bool flipped_is_faster(int device, const std::function<void()>& run_direct, const std::function<void()>& run_flipped) {
  cudaStream_t s = stream(device);
  cudaEvent_t start, stop;
  CUTTLE_CUDA_CHECK(cudaEventCreate(&start));
  CUTTLE_CUDA_CHECK(cudaEventCreate(&stop));
  auto time = [&](const std::function<void()>& fn) {
    CUTTLE_CUDA_CHECK(cudaEventRecord(start, s));
    fn();
    CUTTLE_CUDA_CHECK(cudaEventRecord(stop, s));
    CUTTLE_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUTTLE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms;
  };
  run_direct();
  run_flipped();
  float direct = 1e30f, flipped = 1e30f;
  for (int r = 0; r < 2; ++r) {
    direct = std::min(direct, time(run_direct));
    flipped = std::min(flipped, time(run_flipped));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return flipped < direct;
}

}  // namespace

void set_conv_form(ConvKind kind, ConvForm form) { g_form[(size_t)slot_of(kind)] = (int)form; }

ConvForm conv_form(ConvKind kind) {
  std::atomic<int>& slot = g_form[(size_t)slot_of(kind)];
  int f = slot.load();
  if (f < 0) {
    int expected = -1;
    slot.compare_exchange_strong(expected, (int)form_from_env(kind));
    f = slot.load();
  }
  return (ConvForm)f;
}

bool flipped_form_applies(const Shape& w, const Conv2dParams& p, DType dt) {
  return dt == DType::f32 && p.groups == 1 && p.stride_h == 1 && p.stride_w == 1 && w[2] * w[3] > 1 &&
         p.pad_h <= (w[2] - 1) * p.dil_h && p.pad_w <= (w[3] - 1) * p.dil_w;
}

Conv2dParams flipped_form_params(const Shape& w, const Conv2dParams& p) {
  Conv2dParams q = p;
  q.pad_h = (w[2] - 1) * p.dil_h - p.pad_h;
  q.pad_w = (w[3] - 1) * p.dil_w - p.pad_w;
  return q;
}

bool flipped_form_by_rule(ConvKind kind, const Shape& x, const Shape& w, const Conv2dParams& p, DType dt) {
  if (!flipped_form_applies(w, p, dt) || allow_tf32()) return false;
  const int64_t pixels = x[2] * x[3];
  if (kind == ConvKind::forward) return x[1] >= 128 && (pixels <= 1024 || (pixels <= 2048 && w[2] * w[3] >= 25));
  // Input gradients over maps of 4096 pixels or more (the MoE's 88x88 scale) run as forwards: 5x5 and
  // 7x7 ones 2.7-8x faster, 3x3 ones as fast on five samples and 1.1-1.5x faster on sixteen. Over
  // smaller maps each form wins some shapes, mostly the direct one (docs/PERFORMANCE.md).
  return pixels >= 4096;
}

bool choose_flipped_form(ConvKind kind, const Shape& x, const Shape& w, const Conv2dParams& p, DType dt, int device,
                         const std::function<void()>& run_direct, const std::function<void()>& run_flipped) {
  switch (conv_form(kind)) {
    case ConvForm::direct: return false;
    case ConvForm::flipped: return true;
    case ConvForm::rule: return flipped_form_by_rule(kind, x, w, p, dt);
    case ConvForm::timed: break;
  }
  if (cudnn_deterministic()) return flipped_form_by_rule(kind, x, w, p, dt);
  const ConvKey key = make_conv_key(kind, device, dt, x, w, p);
  FormCache& c = form_cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.flipped.find(key);
    if (it != c.flipped.end()) return it->second;
  }
  const bool flipped = flipped_is_faster(device, run_direct, run_flipped);
  ++g_timings;
  std::lock_guard<std::mutex> lock(c.mu);
  c.flipped[key] = flipped;
  return flipped;
}

int64_t conv_form_timings() { return g_timings; }

}  // namespace cuttle::engine::cuda
