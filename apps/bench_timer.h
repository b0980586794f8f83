// Defines the timer of the benchmark programs: warm-up calls, then the median and minimum of timed
// calls. On a GPU each call is bracketed by CUDA events on cuttle's stream (device time, no host sync
// inside the bracket) unless `wall` is asked for; on the CPU, and with `wall`, by steady_clock with the
// device drained after each call (what a whole training step costs, host work included).
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::bench {

// The --only filter of the benchmarks: true when `patterns` is empty or `text` contains one of its
// '|'-separated pieces as plain text ("batched (uniform) [16,|dense_soft (uniform) [16,").
inline bool row_selected(const std::string& text, const std::string& patterns) {
  if (patterns.empty()) return true;
  for (size_t from = 0;;) {
    const size_t bar = patterns.find('|', from);
    const std::string piece = patterns.substr(from, bar == std::string::npos ? std::string::npos : bar - from);
    if (!piece.empty() && text.find(piece) != std::string::npos) return true;
    if (bar == std::string::npos) return false;
    from = bar + 1;
  }
}

// Waits for the device's queued work (nothing on the CPU, where ops run to completion).
inline void drain(engine::Device device) {
#ifdef CUTTLE_WITH_CUDA
  if (device.is_cuda()) engine::cuda::synchronize(device.index);
#endif
}

struct Timing {
  double median_ms, min_ms;
  double host_ms = 0;  // GPU events: median time the host spent issuing a call (close to median_ms: host-bound)
};

inline Timing time_it(const std::function<void()>& fn, int warmup, int reps, engine::Device device,
                      bool wall = false) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  double host_ms = 0;
  auto drain = [&] { bench::drain(device); };
  const bool events = device.is_cuda() && !wall;
#ifdef CUTTLE_WITH_CUDA
  if (events) {
    cudaStream_t s = engine::cuda::stream(device.index);
    engine::cuda::DeviceGuard guard(device.index);
    cudaEvent_t start, stop;
    CUTTLE_CUDA_CHECK(cudaEventCreate(&start));
    CUTTLE_CUDA_CHECK(cudaEventCreate(&stop));
    drain();
    std::vector<double> host;
    for (int i = 0; i < reps; ++i) {
      CUTTLE_CUDA_CHECK(cudaEventRecord(start, s));
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      host.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      CUTTLE_CUDA_CHECK(cudaEventRecord(stop, s));
      CUTTLE_CUDA_CHECK(cudaEventSynchronize(stop));
      float t = 0;
      CUTTLE_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
      ms.push_back(t);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(host.begin(), host.end());
    host_ms = host[host.size() / 2];
  }
#endif
  if (!events) {
    drain();
    for (int i = 0; i < reps; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      drain();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), host_ms};
}

}  // namespace cuttle::bench
