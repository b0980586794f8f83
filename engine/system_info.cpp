#include "engine/system_info.h"

#include <Eigen/Core>
#include <unistd.h>

#include <cstdio>

#include "engine/build_info.h"
#include "engine/error.h"
#include "engine/host_allocator.h"
#include "engine/parallel.h"
#ifdef CUTTLE_WITH_CUDA
#include <cublas_v2.h>
#include <cudnn.h>
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/cublas.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::engine {

bool cuda_usable() {
#ifdef CUTTLE_WITH_CUDA
  return cuda::available();
#else
  return false;
#endif
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "auto") return cuda_usable() ? Device::cuda(0) : Device::cpu();
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (name.size() > 5) {
      char* end = nullptr;
      index = (int)std::strtol(name.c_str() + 5, &end, 10);
      CUTTLE_CHECK(end && *end == '\0' && index >= 0, "device '", name, "': expected cuda:N");
    }
#ifdef CUTTLE_WITH_CUDA
    CUTTLE_CHECK(index < cuda::device_count(), "device '", name, "': ", cuda::device_count(),
                 " GPU(s) visible");
    return Device::cuda(index);
#else
    CUTTLE_FAIL("device '", name, "': this build has only the CPU backend (rebuild with -DCUTTLE_CUDA=ON)");
#endif
  }
  CUTTLE_FAIL("device '", name, "': expected cpu, cuda, cuda:N or auto");
}

std::string describe_device(Device device) {
#ifdef CUTTLE_WITH_CUDA
  if (device.is_cuda()) {
    const cuda::DeviceInfo d = cuda::device_info(device.index);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s (cuda:%d), %.1f GiB, compute capability %d.%d, %d SMs", d.name.c_str(),
                  device.index, d.total_memory / 1073741824.0, d.major, d.minor, d.multiprocessors);
    return buf;
  }
#endif
  const BuildFacts f = build_facts();
  return "CPU, " + std::to_string(num_threads()) + " thread(s), kernels built for " + f.cpu_arch;
}

nlohmann::json library_versions() {
  nlohmann::json v;
  v["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
               std::to_string(EIGEN_MINOR_VERSION);
  v["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) +
                       "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH);
#ifdef CUTTLE_WITH_CUDA
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  auto cuda_version = [](int x) { return std::to_string(x / 1000) + "." + std::to_string(x % 1000 / 10); };
  v["cuda_runtime"] = cuda_version(runtime);
  v["cuda_driver"] = driver ? cuda_version(driver) : "none";
  v["cudnn_runtime"] = std::to_string(cudnnGetVersion());
  v["cudnn_built"] = std::to_string(CUDNN_VERSION);
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  v["cublas"] = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
#endif
  return v;
}

nlohmann::json provenance(Device device) {
  const BuildFacts f = build_facts();
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  return {
      {"version", f.version},
      {"commit", f.commit},
      {"dirty", f.dirty},
      {"build", {{"type", f.build_type}, {"cpu_arch", f.cpu_arch}, {"compiler", f.compiler}, {"cuda", f.cuda}}},
      {"device", describe_device(device)},
      {"libraries", library_versions()},
      {"host", host},
      {"threads", num_threads()},
  };
}

nlohmann::json memory_stats(Device device) {
  constexpr double kMiB = 1 << 20;
#ifdef CUTTLE_WITH_CUDA
  if (device.is_cuda()) {
    const cuda::AllocatorStats a = cuda::allocator_stats(device.index);
    return {{"allocated_mib", a.allocated / kMiB}, {"reserved_mib", a.reserved / kMiB},
            {"peak_mib", a.peak_allocated / kMiB}};
  }
#endif
  return {{"host_cache_mib", host_cache_stats().cached_bytes / kMiB}};
}

void reset_peak_memory(Device device) {
#ifdef CUTTLE_WITH_CUDA
  if (device.is_cuda()) cuda::reset_peak(device.index);
#else
  (void)device;
#endif
}

void set_cuda_math(bool tf32, bool deterministic) {
#ifdef CUTTLE_WITH_CUDA
  cuda::set_allow_tf32(tf32);
  cuda::set_cudnn_deterministic(deterministic);
#else
  (void)tf32;
  (void)deterministic;
#endif
}

bool cuda_math_deterministic() {
#ifdef CUTTLE_WITH_CUDA
  return cuda::cudnn_deterministic();
#else
  return false;
#endif
}

void set_conv_benchmark(bool on) {
#ifdef CUTTLE_WITH_CUDA
  cuda::set_cudnn_benchmark(on);
#else
  (void)on;
#endif
}

}  // namespace cuttle::engine
