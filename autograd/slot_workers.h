// Declares the backward workers: one persistent host thread per side stream slot (engine/streams.h).
// A GPU step made of many small kernels is bound by the host's cost of issuing them; the backward of
// branches recorded on different slots (the MoE's experts) is independent, so backward() may issue
// each side slot's nodes from that slot's worker while the others issue theirs.
#pragma once
#include <functional>

namespace cuttle::autograd {

// Runs fn on the worker of `slot` (1..engine::kMaxStreamSlots), after the tasks posted to it before.
// fn must not throw (the caller catches inside it).
void post_to_slot_worker(int slot, std::function<void()> fn);

// Whether backward() hands side-slot nodes to the workers. Off by default (every node runs on the
// calling thread); CUTTLE_BACKWARD_THREADS=1 turns it on. On an H100 it made the MoE's dense_soft
// steps 10-17% faster and left the batched steps and the whole model's training step unchanged on a
// host that issues ops quickly (docs/PERFORMANCE.md), so the extra threads are opt-in.
void set_backward_threads(bool on);
bool backward_threads();

}  // namespace cuttle::autograd
