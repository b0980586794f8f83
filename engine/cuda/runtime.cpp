#include "engine/cuda/runtime.h"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/slot_table.h"

namespace cuttle::engine::cuda {

int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count;
}

namespace {
void check_index(int device) {
  CUTTLE_CHECK(device >= 0 && device < device_count(), "CUDA device ", device, " does not exist (", device_count(),
               " visible)");
}
}  // namespace

namespace {

thread_local std::array<int8_t, kMaxDevices> t_slot{};

struct StreamTable {
  static constexpr const char* name = "CUDA streams";
};
struct EventTable {
  static constexpr const char* name = "CUDA stream events";
};

// Slot `slot`'s stream, created on first use.
cudaStream_t slot_stream(int device, int slot) {
  return SlotTable<cudaStream_t, StreamTable>::get(device, slot, [device] {
    DeviceGuard guard(device);
    cudaStream_t s = nullptr;
    CUTTLE_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  });
}

// The event slot `slot`'s stream records for waits on it. One per producer slot is enough: a wait
// binds to the event's latest record when issued.
cudaEvent_t slot_event(int device, int slot) {
  return SlotTable<cudaEvent_t, EventTable>::get(device, slot, [device] {
    DeviceGuard guard(device);
    cudaEvent_t e = nullptr;
    CUTTLE_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    return e;
  });
}

}  // namespace

cudaStream_t stream(int device) {
  check_index(device);
  return slot_stream(device, device < kMaxDevices ? t_slot[device] : 0);
}

cudaStream_t main_stream(int device) {
  check_index(device);
  return slot_stream(device, 0);
}

cudaStream_t side_stream(int device, int slot) {
  check_index(device);
  CUTTLE_CHECK(slot >= 1 && slot <= kMaxSideStreams, "CUDA side stream ", slot, " does not exist (1..",
               kMaxSideStreams, ")");
  return slot_stream(device, slot);
}

int stream_slot(int device) { return device >= 0 && device < kMaxDevices ? t_slot[device] : 0; }

void set_stream_slot(int device, int slot) {
  check_index(device);
  CUTTLE_CHECK(device < kMaxDevices && slot >= 0 && slot <= kMaxSideStreams, "CUDA stream slot ", slot,
               " on device ", device, " is out of range");
  t_slot[device] = (int8_t)slot;
  if (slot > 0) note_side_stream_use(device, side_stream(device, slot));
}

void stream_wait(int device, int waiter, int producer) {
  CUTTLE_CHECK(waiter >= 0 && waiter <= kMaxSideStreams && producer >= 0 && producer <= kMaxSideStreams,
               "CUDA stream_wait: slots ", waiter, " and ", producer, " must lie in 0..", kMaxSideStreams);
  if (waiter == producer) return;
  check_index(device);
  const cudaStream_t w = slot_stream(device, waiter), p = slot_stream(device, producer);
  const cudaEvent_t ev = slot_event(device, producer);
  CUTTLE_CUDA_CHECK(cudaEventRecord(ev, p));
  CUTTLE_CUDA_CHECK(cudaStreamWaitEvent(w, ev, 0));
  // A producer the calling thread still has selected may get more work: it stays unjoined.
  if (stream_slot(device) != producer || producer == 0) note_stream_wait(device, w, p);
}

void set_device(int device) {
  check_index(device);
  CUTTLE_CUDA_CHECK(cudaSetDevice(device));
}

int current_device() {
  int device = 0;
  CUTTLE_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

void synchronize(int device) {
  DeviceGuard guard(device);
  CUTTLE_CUDA_CHECK(cudaDeviceSynchronize());  // every stream: side streams hold blocks until then
  note_device_idle(device);
}

DeviceInfo device_info(int device) {
  check_index(device);
  // Read once per device: cudaGetDeviceProperties is slow, and cuBLAS asks on every stream rebind.
  static std::mutex mu;
  static std::vector<std::unique_ptr<DeviceInfo>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (cache.empty()) cache.resize((size_t)device_count());
  std::unique_ptr<DeviceInfo>& info = cache[(size_t)device];
  if (!info) {
    cudaDeviceProp p{};
    CUTTLE_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    info = std::make_unique<DeviceInfo>(DeviceInfo{p.name, p.totalGlobalMem, p.major, p.minor, p.multiProcessorCount});
  }
  return *info;
}

DeviceGuard::DeviceGuard(int device) : prev_(current_device()) {
  if (prev_ != device) {
    set_device(device);
    switched_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (switched_) cudaSetDevice(prev_);
}

}  // namespace cuttle::engine::cuda
