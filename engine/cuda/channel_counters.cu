// Per-stream arrival counters of the one-launch channel reductions (engine/cuda/channel_kernels.cuh)
// and the switch that picks that form.
#include <cuda_runtime.h>

#include <atomic>
#include <map>
#include <mutex>
#include <utility>

#include "engine/cuda/channel_kernels.cuh"
#include "engine/cuda/channel_reduce_mode.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/runtime.h"
#include "engine/env_switch.h"

namespace cuttle::engine::cuda {

unsigned* channel_counters(int device, cudaStream_t stream, int64_t C) {
  struct Counters {
    unsigned* ptr = nullptr;
    int64_t capacity = 0;
  };
  static std::mutex mu;
  static std::map<std::pair<int, cudaStream_t>, Counters>* all = new std::map<std::pair<int, cudaStream_t>, Counters>();
  std::lock_guard<std::mutex> lock(mu);
  Counters& c = (*all)[{device, stream}];
  if (c.capacity < C) {
    DeviceGuard guard(device);
    // Kept for the process's life; growing frees the old array (cudaFree waits for the kernels using it).
    if (c.ptr) CUTTLE_CUDA_CHECK(cudaFree(c.ptr));
    int64_t capacity = 4096;
    while (capacity < C) capacity *= 2;
    CUTTLE_CUDA_CHECK(cudaMalloc(&c.ptr, (size_t)capacity * sizeof(unsigned)));
    CUTTLE_CUDA_CHECK(cudaMemsetAsync(c.ptr, 0, (size_t)capacity * sizeof(unsigned), stream));
    c.capacity = capacity;
  }
  return c.ptr;
}

namespace {
std::atomic<bool> g_one_launch{env_switch_on("CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH")};
}  // namespace

bool channel_reduce_one_launch() { return g_one_launch; }
void set_channel_reduce_one_launch(bool on) { g_one_launch = on; }

}  // namespace cuttle::engine::cuda
