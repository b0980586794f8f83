#include "engine/storage.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "engine/error.h"
#include "engine/host_allocator.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::engine {

Storage::Storage(size_t nbytes, Device device, bool pinned) : nbytes_(nbytes), device_(device) {
  if (device.is_cuda()) {
#ifdef CUTTLE_WITH_CUDA
    void* p = cuda::device_alloc(nbytes, device.index, cuda::stream(device.index));
    data_ = std::shared_ptr<void>(p, [](void* q) { cuda::device_free(q); });
    return;
#else
    CUTTLE_FAIL("Storage: device ", device.str(), " is not available (this build has only the CPU backend)");
#endif
  }
#ifdef CUTTLE_WITH_CUDA
  if (pinned && cuda::available()) {
    void* p = nullptr;
    if (cudaHostAlloc(&p, std::max<size_t>(nbytes, 1), cudaHostAllocDefault) == cudaSuccess) {
      data_ = std::shared_ptr<void>(p, [](void* q) { cudaFreeHost(q); });
      pinned_ = true;
      return;
    }
    cudaGetLastError();  // fall back to pageable memory
  }
#endif
  void* p = host_alloc(nbytes);
  data_ = std::shared_ptr<void>(p, [nbytes](void* q) { host_free(q, nbytes); });
}

}  // namespace cuttle::engine
