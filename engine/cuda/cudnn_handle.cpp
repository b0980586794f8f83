#include "engine/cuda/cudnn_handle.h"

#include <cstdio>
#include <mutex>

#include "engine/cuda/runtime.h"
#include "engine/cuda/slot_table.h"

namespace cuttle::engine::cuda {

namespace {

struct Version {
  size_t major, minor, patch;
};
Version decode(size_t v) {
  if (v >= 90000) return {v / 10000, v / 100 % 100, v % 100};
  return {v / 1000, v / 100 % 10, v % 100};
}

void check_version_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string w = cudnn_version_warning(cudnnGetVersion(), CUDNN_VERSION);
    if (!w.empty()) std::fprintf(stderr, "%s\n", w.c_str());
  });
}

}  // namespace

std::string cudnn_version_string(size_t version) {
  const Version v = decode(version);
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
}

std::string cudnn_version_warning(size_t runtime, size_t built) {
  const Version r = decode(runtime), b = decode(built);
  if (r.major == b.major && r.minor == b.minor) return "";
  return "cuttle: warning: cuDNN runtime " + cudnn_version_string(runtime) + " differs from the " +
         cudnn_version_string(built) + " this build was compiled against" +
         (r.major != b.major || r.minor < b.minor ? " (an older or other-major runtime is not guaranteed to work)" : "");
}

namespace {
struct CudnnHandles {
  static constexpr const char* name = "cuDNN handles";
};
}  // namespace

cudnnHandle_t cudnn_handle(int device) {
  // One handle per (device, stream slot), bound to that slot's stream for good: threads issuing to
  // different slots at once (autograd's backward workers) never share a handle.
  return SlotTable<cudnnHandle_t, CudnnHandles>::get(device, stream_slot(device), [device] {
    CUTTLE_CHECK(device < device_count(), "cuDNN: no device ", device);
    check_version_once();
    DeviceGuard guard(device);
    cudnnHandle_t h = nullptr;
    CUTTLE_CUDNN_CHECK(cudnnCreate(&h));
    CUTTLE_CUDNN_CHECK(cudnnSetStream(h, stream(device)));
    return h;
  });
}

}  // namespace cuttle::engine::cuda
