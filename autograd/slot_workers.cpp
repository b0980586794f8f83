// The backward workers of autograd/slot_workers.h: a thread per slot, started on first use, fed
// through a queue, never joined (they wait for work for the process's life).
#include "autograd/slot_workers.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

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

std::atomic<int> g_threads{-1};  // -1: not read from the environment yet

}  // namespace

void post_to_slot_worker(int slot, std::function<void()> fn) {
  CUTTLE_CHECK(slot >= 1 && slot <= engine::kMaxStreamSlots, "post_to_slot_worker: slot ", slot,
               " is not a side slot (1..", engine::kMaxStreamSlots, ")");
  workers()[(size_t)slot].post(std::move(fn));
}

void set_backward_threads(bool on) { g_threads = on ? 1 : 0; }

bool backward_threads() {
  int v = g_threads.load();
  if (v < 0) {
    const char* env = std::getenv("CUTTLE_BACKWARD_THREADS");
    int expected = -1;
    g_threads.compare_exchange_strong(expected, env && std::string(env) == "1" ? 1 : 0);
    v = g_threads.load();
  }
  return v == 1;
}

}  // namespace cuttle::autograd
