#include "engine/cuda/runtime.h"

#include <mutex>
#include <vector>

#include "engine/cuda/cuda_check.h"

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

cudaStream_t stream(int device) {
  check_index(device);
  static std::mutex mu;
  static std::vector<cudaStream_t> streams;
  std::lock_guard<std::mutex> lock(mu);
  if (streams.empty()) streams.assign(device_count(), nullptr);
  if (!streams[device]) {
    DeviceGuard guard(device);
    CUTTLE_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  }
  return streams[device];
}

void set_device(int device) {
  check_index(device);
  CUTTLE_CUDA_CHECK(cudaSetDevice(device));
}

void synchronize(int device) { CUTTLE_CUDA_CHECK(cudaStreamSynchronize(stream(device))); }

DeviceInfo device_info(int device) {
  check_index(device);
  cudaDeviceProp p{};
  CUTTLE_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return {p.name, p.totalGlobalMem, p.major, p.minor, p.multiProcessorCount};
}

DeviceGuard::DeviceGuard(int device) : prev_(0) {
  CUTTLE_CUDA_CHECK(cudaGetDevice(&prev_));
  if (prev_ != device) set_device(device);
}

DeviceGuard::~DeviceGuard() { cudaSetDevice(prev_); }

}  // namespace cuttle::engine::cuda
