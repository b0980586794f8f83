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
// The stream cuttle's work on `device` is ordered on (created once, non-blocking).
cudaStream_t stream(int device);
// Makes `device` current on the calling thread (checked).
void set_device(int device);
// Waits for all of cuttle's work on `device`.
void synchronize(int device);

struct DeviceInfo {
  std::string name;
  size_t total_memory = 0;
  int major = 0, minor = 0;
  int multiprocessors = 0;
};
DeviceInfo device_info(int device);

// RAII: makes a device current and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_;
};

}  // namespace cuttle::engine::cuda
