// Declares stream slots: independent branches of work (the MoE's experts) on their own CUDA streams so
// that their small kernels overlap on the GPU instead of queueing behind each other. Slot 0 is a
// device's main stream, slots 1..kMaxStreamSlots side streams. Work issued while a StreamSlotGuard
// selects a slot goes to that slot's stream (kernels, cuBLAS, cuDNN, allocations); cross-slot order is
// explicit through stream_wait, which autograd's backward also applies when a gradient crosses slots
// (nodes remember the slot they were recorded in). Everything here is a no-op on the CPU.
#pragma once
#include "engine/device.h"

namespace cuttle::engine {

constexpr int kMaxStreamSlots = 8;

// Selects `slot` for `device` on the calling thread and restores the previous slot on destruction.
// It also makes `device` the thread's current CUDA device for its lifetime: the slot workers
// (autograd/slot_workers.h) start on device 0, and a model on another device would otherwise switch
// devices twice per op.
class StreamSlotGuard {
 public:
  StreamSlotGuard(Device device, int slot);
  ~StreamSlotGuard();
  StreamSlotGuard(const StreamSlotGuard&) = delete;
  StreamSlotGuard& operator=(const StreamSlotGuard&) = delete;

 private:
  Device device_;
  int prev_ = 0;
  int prev_device_ = -1;  // the current device before, where it differed from device_
  bool active_ = false;
};

// The slot selected for `device` on the calling thread (0: its main stream; always 0 on the CPU).
// Autograd records it per node, for the node's output device.
int current_stream_slot(Device device);
// Orders all later work of slot `waiter` on `device` after all work issued so far on slot `producer`.
void stream_wait(Device device, int waiter, int producer);

// Side streams layers spread independent branches over by default: on an H100 six let the MoE's
// experts overlap (batched MoE 1.1-1.3x faster than on one stream, the whole model 2-3% faster per
// training step; docs/PERFORMANCE.md). No effect on the CPU.
constexpr int kDefaultBranchStreams = 6;
// How many side streams layers may spread independent branches over (0: none, all work on the main
// stream), clamped to 0..kMaxStreamSlots.
void set_branch_streams(int n);
int branch_streams();

}  // namespace cuttle::engine
