#include "engine/storage.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace cuttle::engine {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  CUTTLE_CHECK(device.is_cpu(), "Storage: device ", device.str(),
               " is not available (this build has only the CPU backend)");
  // aligned_alloc needs a size that is a multiple of the alignment.
  size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) CUTTLE_FAIL("Storage: out of host memory allocating ", nbytes, " bytes");
  data_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace cuttle::engine
