// The forward-form choice of engine/cuda/conv_forward_form.h: a per-key cache of timed decisions.
#include "engine/cuda/conv_forward_form.h"

#include <algorithm>
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

ConvForwardForm form_from_env() {
  const char* v = std::getenv("CUTTLE_CONV_FORWARD_FORM");
  if (!v || !*v || std::string(v) == "rule") return ConvForwardForm::rule;
  if (std::string(v) == "timed") return ConvForwardForm::timed;
  if (std::string(v) == "direct") return ConvForwardForm::direct;
  if (std::string(v) == "backward_data") return ConvForwardForm::backward_data;
  CUTTLE_FAIL("CUTTLE_CONV_FORWARD_FORM must be rule, timed, direct or backward_data, got '", v, "'");
  return ConvForwardForm::rule;
}

std::atomic<int> g_form{-1};  // -1: not read from the environment yet
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

void set_conv_forward_form(ConvForwardForm form) { g_form = (int)form; }

ConvForwardForm conv_forward_form() {
  int f = g_form.load();
  if (f < 0) {
    f = (int)form_from_env();
    int expected = -1;
    g_form.compare_exchange_strong(expected, f);
    f = g_form.load();
  }
  return (ConvForwardForm)f;
}

bool forward_as_backward_data_applies(const Shape& w, const Conv2dParams& p, DType dt) {
  return dt == DType::f32 && p.groups == 1 && p.stride_h == 1 && p.stride_w == 1 && w[2] * w[3] > 1 &&
         p.pad_h <= (w[2] - 1) * p.dil_h && p.pad_w <= (w[3] - 1) * p.dil_w;
}

bool backward_data_form_by_rule(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt) {
  const int64_t pixels = x[2] * x[3];
  return forward_as_backward_data_applies(w, p, dt) && !allow_tf32() && x[1] >= 128 &&
         (pixels <= 1024 || (pixels <= 2048 && w[2] * w[3] >= 25));
}

bool choose_backward_data_form(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt, int device,
                               const std::function<void()>& run_direct, const std::function<void()>& run_flipped) {
  switch (conv_forward_form()) {
    case ConvForwardForm::direct: return false;
    case ConvForwardForm::backward_data: return true;
    case ConvForwardForm::rule: return backward_data_form_by_rule(x, w, p, dt);
    case ConvForwardForm::timed: break;
  }
  if (cudnn_deterministic()) return backward_data_form_by_rule(x, w, p, dt);
  const ConvKey key = make_conv_key(ConvKind::forward, device, dt, x, w, p);
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

int64_t conv_forward_form_timings() { return g_timings; }

}  // namespace cuttle::engine::cuda
