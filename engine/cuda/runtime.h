// Declares the CUDA runtime services: device discovery, the per-device stream every kernel runs on,
// synchronisation and device facts for the tools.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace cuttle::engine::cuda {

// Number of usable GPUs; 0 (never an error) when there is no driver or no device.
int device_count();
inline bool available() { return device_count() > 0; }
// The stream the calling thread's work on `device` goes to: the device's main stream (created once,
// non-blocking), or a side stream while a StreamSlotGuard (engine/streams.h) selects one.
cudaStream_t stream(int device);
cudaStream_t main_stream(int device);
// Side stream `slot` (1..kMaxSideStreams) of `device`, created on first use.
constexpr int kMaxSideStreams = 8;  // engine::kMaxStreamSlots
cudaStream_t side_stream(int device, int slot);
// The calling thread's stream slot for `device` (0 = main) and its setter (engine/streams.h wraps it).
int stream_slot(int device);
void set_stream_slot(int device, int slot);
// Orders all later work on slot `waiter` of `device` after all work issued so far on slot `producer`
// (an event recorded on one, waited on by the other), and tells the caching allocator.
void stream_wait(int device, int waiter, int producer);
// Makes `device` current on the calling thread (checked), and reads which one is.
void set_device(int device);
int current_device();
// Waits for all of cuttle's work on `device` (every stream) and returns blocks held for cross-stream
// waits to the caching allocator's pools.
void synchronize(int device);

struct DeviceInfo {
  std::string name;
  size_t total_memory = 0;
  int major = 0, minor = 0;
  int multiprocessors = 0;
};
DeviceInfo device_info(int device);

// RAII: makes a device current and restores the previous one (no driver call back when it was current
// already: every op takes a guard, and most find their device current).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_;
  bool switched_ = false;
};

}  // namespace cuttle::engine::cuda
