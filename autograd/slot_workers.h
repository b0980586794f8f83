// Declares the backward workers: one persistent host thread per side stream slot (engine/streams.h).
// A GPU step made of many small kernels is bound by the host's cost of issuing them; the backward of
// branches recorded on different slots (the MoE's experts) is independent, so backward() may issue
// each side slot's nodes from that slot's worker while the others issue theirs.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace cuttle::autograd {

// Runs fn on the worker of `slot` (1..engine::kMaxStreamSlots), after the tasks posted to it before.
// fn must not throw (the caller catches inside it).
void post_to_slot_worker(int slot, std::function<void()> fn);

// Runs tasks[i] on the worker of slots[i] (tasks of one slot in order, slots at once) and returns
// when all have finished; the first exception a task threw is rethrown here. Each task runs with
// the caller's grad mode. Called on a worker, it runs the tasks there, one after another.
void run_on_slot_workers(const std::vector<int>& slots, const std::vector<std::function<void()>>& tasks);
// How many run_on_slot_workers calls have handed their tasks to the workers so far.
int64_t slot_worker_runs();
// Whether an op trace or a convolution log records on the calling thread: they see only that
// thread's ops, so work that would go to the workers stays on it.
bool ops_observed_on_this_thread();

// Whether the MoE's experts issue their forward from the slot workers, one thread per side stream,
// while the caller waits (layers/moe/sparse_moe.cpp). Never while ops_observed_on_this_thread() or a
// MAC counter is active on the calling thread.
void set_forward_threads(bool on);
bool forward_threads();

// Whether backward() hands side-slot nodes to the workers (else every node runs on the calling thread).
bool backward_threads();
void set_backward_threads(bool on);

// Both thread switches are on by default: on an H100 host that issues ops slowly they cut the MoE's
// batched step by 2-28% (docs/PERFORMANCE.md); on a fast host backward threads alone moved it by -3%
// to +4%. They are off where CUTTLE_FORWARD_THREADS / CUTTLE_BACKWARD_THREADS is 0, and while the
// CUDA math is deterministic (engine::set_cuda_math, train_cod --deterministic): gradients that
// several slots add into one tensor (only the dense modes' shared input) add in the order the backward
// threads finish, or, with forward threads alone, in the order of the experts' interleaved node
// numbers. In the batched mode every such tensor gets one slot's gradient, so its results do not
// depend on the threads.
// set_*_threads overrides both; reset_slot_thread_switches returns them to these defaults.
void reset_slot_thread_switches();

}  // namespace cuttle::autograd
