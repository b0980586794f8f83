// Stream slots (engine/streams.h): thin over engine/cuda/runtime.h in a CUDA build, no-ops otherwise.
#include "engine/streams.h"

#include <algorithm>
#include <atomic>

#include "engine/error.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::engine {

namespace {
std::atomic<int> g_branch_streams{kDefaultBranchStreams};
}  // namespace

StreamSlotGuard::StreamSlotGuard(Device device, int slot) : device_(device) {
  CUTTLE_CHECK(slot >= 0 && slot <= kMaxStreamSlots, "StreamSlotGuard: slot ", slot, " is out of range (0..",
               kMaxStreamSlots, ")");
  if (!device.is_cuda()) return;
#ifdef CUTTLE_WITH_CUDA
  prev_ = cuda::stream_slot(device.index);
  cuda::set_stream_slot(device.index, slot);
  active_ = true;
  const int current = cuda::current_device();
  if (current != device.index) {
    try {
      cuda::set_device(device.index);
    } catch (...) {  // no destructor runs for a constructor that throws: undo the slot here
      cuda::set_stream_slot(device.index, prev_);
      throw;
    }
    prev_device_ = current;
  }
#endif
}

StreamSlotGuard::~StreamSlotGuard() {
#ifdef CUTTLE_WITH_CUDA
  if (!active_) return;
  cuda::set_stream_slot(device_.index, prev_);
  if (prev_device_ >= 0) {
    try {  // a destructor must not throw, least of all while an error unwinds through it
      cuda::set_device(prev_device_);
    } catch (...) {
    }
  }
#endif
}

int current_stream_slot(Device device) {
#ifdef CUTTLE_WITH_CUDA
  if (device.is_cuda()) return cuda::stream_slot(device.index);
#endif
  (void)device;
  return 0;
}

void stream_wait(Device device, int waiter, int producer) {
  if (!device.is_cuda() || waiter == producer) return;
#ifdef CUTTLE_WITH_CUDA
  cuda::stream_wait(device.index, waiter, producer);
#endif
}

void set_branch_streams(int n) { g_branch_streams = std::clamp(n, 0, kMaxStreamSlots); }
int branch_streams() { return g_branch_streams; }

}  // namespace cuttle::engine
