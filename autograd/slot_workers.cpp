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
#include "engine/env_switch.h"
#include "engine/error.h"
#include "engine/streams.h"

namespace cuttle::autograd {

namespace {

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

// An opt-in switch: what set() last said, else its environment variable (=1 turns it on).
class OptInSwitch {
 public:
  explicit OptInSwitch(const char* env) : env_(env) {}
  void set(bool on) { state_ = on ? 1 : 0; }
  bool on() {
    int v = state_.load();
    if (v < 0) {
      int expected = -1;
      state_.compare_exchange_strong(expected, engine::env_opt_in(env_) ? 1 : 0);
      v = state_.load();
    }
    return v == 1;
  }

 private:
  const char* env_;
  std::atomic<int> state_{-1};  // -1: not read from the environment yet
};
OptInSwitch g_backward_threads("CUTTLE_BACKWARD_THREADS");
OptInSwitch g_forward_threads("CUTTLE_FORWARD_THREADS");

}  // namespace

void post_to_slot_worker(int slot, std::function<void()> fn) {
  CUTTLE_CHECK(slot >= 1 && slot <= engine::kMaxStreamSlots, "post_to_slot_worker: slot ", slot,
               " is not a side slot (1..", engine::kMaxStreamSlots, ")");
  workers()[(size_t)slot].post(std::move(fn));
}

void run_on_slot_workers(const std::vector<int>& slots, const std::vector<std::function<void()>>& tasks) {
  CUTTLE_CHECK(slots.size() == tasks.size(), "run_on_slot_workers: ", slots.size(), " slots for ", tasks.size(),
               " tasks");
  std::mutex mu;
  std::condition_variable done;
  size_t left = tasks.size();
  std::exception_ptr error;
  const bool grad = grad_enabled();
  for (size_t i = 0; i < tasks.size(); ++i)
    post_to_slot_worker(slots[i], [&, i] {
      std::exception_ptr caught;
      try {
        const bool was = grad_enabled();
        set_grad_enabled(grad);
        try {
          tasks[i]();
        } catch (...) {
          set_grad_enabled(was);
          throw;
        }
        set_grad_enabled(was);
      } catch (...) {
        caught = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (caught && !error) error = caught;
      if (--left == 0) done.notify_all();
    });
  std::unique_lock<std::mutex> lock(mu);
  done.wait(lock, [&] { return left == 0; });
  if (error) std::rethrow_exception(error);
}

void set_forward_threads(bool on) { g_forward_threads.set(on); }
bool forward_threads() { return g_forward_threads.on(); }

void set_backward_threads(bool on) { g_backward_threads.set(on); }
bool backward_threads() { return g_backward_threads.on(); }

}  // namespace cuttle::autograd
