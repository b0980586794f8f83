// The backward workers of autograd/slot_workers.h: a thread per slot, started on first use, fed
// through a queue, never joined (they wait for work for the process's life).
#include "autograd/slot_workers.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "autograd/grad_mode.h"
#include "engine/conv_log.h"
#include "engine/env_switch.h"
#include "engine/error.h"
#include "engine/op_trace.h"
#include "engine/streams.h"
#include "engine/system_info.h"

namespace cuttle::autograd {

namespace {

thread_local bool t_on_worker = false;  // the calling thread is a slot worker
std::atomic<int64_t> g_threaded_runs{0};

class SlotWorker {
 public:
  void post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      std::thread([this] { loop(); }).detach();
      started_ = true;
    }
    tasks_.push_back(std::move(fn));
    cv_.notify_one();
  }

 private:
  void loop() {
    t_on_worker = true;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !tasks_.empty(); });
        fn = std::move(tasks_.front());
        tasks_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool started_ = false;
};

std::array<SlotWorker, engine::kMaxStreamSlots + 1>& workers() {
  // Leaked on purpose: detached threads wait on them until the process ends.
  static auto* w = new std::array<SlotWorker, engine::kMaxStreamSlots + 1>();
  return *w;
}

// A thread switch: what set() last said; else off where its environment variable is 0 or the CUDA
// math is deterministic (engine::set_cuda_math), on otherwise.
class ThreadSwitch {
 public:
  explicit constexpr ThreadSwitch(const char* env) : env_(env) {}
  void set(bool on) { state_ = on ? 1 : 0; }
  void reset() { state_ = -1; }
  bool on() {
    const int v = state_.load();
    if (v >= 0) return v == 1;
    int env = env_state_.load();
    if (env < 0) {
      env = engine::env_switch_on(env_) ? 1 : 0;
      env_state_ = env;
    }
    return env == 1 && !engine::cuda_math_deterministic();
  }

 private:
  const char* env_;
  std::atomic<int> state_{-1};      // -1: the default
  std::atomic<int> env_state_{-1};  // -1: the environment not read yet
};
ThreadSwitch g_backward_threads("CUTTLE_BACKWARD_THREADS");
ThreadSwitch g_forward_threads("CUTTLE_FORWARD_THREADS");

}  // namespace

void post_to_slot_worker(int slot, std::function<void()> fn) {
  CUTTLE_CHECK(slot >= 1 && slot <= engine::kMaxStreamSlots, "post_to_slot_worker: slot ", slot,
               " is not a side slot (1..", engine::kMaxStreamSlots, ")");
  workers()[(size_t)slot].post(std::move(fn));
}

void run_on_slot_workers(const std::vector<int>& slots, const std::vector<std::function<void()>>& tasks) {
  CUTTLE_CHECK(slots.size() == tasks.size(), "run_on_slot_workers: ", slots.size(), " slots for ", tasks.size(),
               " tasks");
  for (int slot : slots)
    CUTTLE_CHECK(slot >= 1 && slot <= engine::kMaxStreamSlots, "run_on_slot_workers: slot ", slot,
                 " is not a side slot (1..", engine::kMaxStreamSlots, ")");
  if (t_on_worker) {  // a worker waiting on workers (its own among them) would wait for ever
    for (const std::function<void()>& task : tasks) task();
    return;
  }
  std::mutex mu;
  std::condition_variable done;
  size_t left = tasks.size();
  std::exception_ptr error;
  const bool grad = grad_enabled();
  // Every posted task refers to this frame: whatever happens, return only once none is left.
  auto wait_all = [&] {
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [&] { return left == 0; });
  };
  for (size_t i = 0; i < tasks.size(); ++i) {
    try {
      post_to_slot_worker(slots[i], [&, i] {
        std::exception_ptr caught;
        try {
          GradModeGuard mode(grad);
          tasks[i]();
        } catch (...) {
          caught = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mu);
        if (caught && !error) error = caught;
        if (--left == 0) done.notify_all();
      });
    } catch (...) {  // no thread for the worker, say: the tasks posted so far still run
      {
        std::lock_guard<std::mutex> lock(mu);
        left -= tasks.size() - i;
      }
      wait_all();
      throw;
    }
  }
  wait_all();
  ++g_threaded_runs;
  if (error) std::rethrow_exception(error);
}

int64_t slot_worker_runs() { return g_threaded_runs; }

bool ops_observed_on_this_thread() { return engine::op_trace_active() || engine::conv_log_active(); }

void set_forward_threads(bool on) { g_forward_threads.set(on); }
bool forward_threads() { return g_forward_threads.on(); }

void set_backward_threads(bool on) { g_backward_threads.set(on); }
bool backward_threads() { return g_backward_threads.on(); }

void reset_slot_thread_switches() {
  g_forward_threads.reset();
  g_backward_threads.reset();
}

}  // namespace cuttle::autograd
