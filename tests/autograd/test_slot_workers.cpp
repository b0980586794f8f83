// Tests of the slot workers (autograd/slot_workers.h) on their own, without a GPU: run_on_slot_workers
// runs every task on its slot's thread, the caller's grad mode with it, and rethrows a task's error
// only after every task has finished; the thread switches follow set_* and their defaults.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "autograd/grad_mode.h"
#include "autograd/mac_counter.h"
#include "autograd/slot_workers.h"
#include "engine/system_info.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cublas.h"
#endif
#include "tests/test_util.h"

using namespace cuttle;

TEST_SUITE("autograd") {

TEST_CASE("run_on_slot_workers runs each task on its slot's thread with the caller's grad mode") {
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::vector<int> seen(6, 0);
  std::vector<int> grad_on(6, -1);
  std::vector<int> slots;
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < 6; ++i) {
    slots.push_back(1 + i % 3);  // two tasks per slot, run in order on that slot's worker
    tasks.push_back([&, i] {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
      seen[(size_t)i] += 1;
      grad_on[(size_t)i] = autograd::grad_enabled() ? 1 : 0;
    });
  }
  for (bool grad : {true, false}) {
    autograd::set_grad_enabled(grad);
    std::fill(seen.begin(), seen.end(), 0);
    ids.clear();
    autograd::run_on_slot_workers(slots, tasks);
    for (int i = 0; i < 6; ++i) {
      CHECK(seen[(size_t)i] == 1);
      CHECK(grad_on[(size_t)i] == (grad ? 1 : 0));
    }
    CHECK(ids.size() == 3);  // one worker per slot
    CHECK(ids.count(std::this_thread::get_id()) == 0);
  }
  autograd::set_grad_enabled(true);
  CHECK_THROWS_AS(autograd::run_on_slot_workers({1, 2}, {tasks[0]}), Error);
  CHECK_THROWS_AS(autograd::run_on_slot_workers({0}, {tasks[0]}), Error);  // slot 0 has no worker
}

TEST_CASE("run_on_slot_workers called on a worker runs the tasks there instead of waiting for itself") {
  std::vector<int> order;
  const int64_t runs = autograd::slot_worker_runs();
  autograd::run_on_slot_workers({2}, {[&] {
    // On slot 2's worker: handing work to slot 2 again (and 3) must not wait for this very thread.
    autograd::run_on_slot_workers({2, 3}, {[&] { order.push_back(1); }, [&] { order.push_back(2); }});
    order.push_back(3);
  }});
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(autograd::slot_worker_runs() == runs + 1);  // the inner call ran inline
}

TEST_CASE("run_on_slot_workers rethrows a task's error after every task has finished") {
  std::atomic<int> finished{0};
  std::vector<std::function<void()>> tasks = {
      [] { throw std::runtime_error("expert 0 failed"); },
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ++finished;
      },
      [&] { ++finished; }};
  CHECK_THROWS_WITH(autograd::run_on_slot_workers({1, 2, 3}, tasks), "expert 0 failed");
  CHECK(finished == 2);
  // The workers are still there for the next call.
  CHECK_NOTHROW(autograd::run_on_slot_workers({1, 2, 3}, {[] {}, [] {}, [] {}}));
}

TEST_CASE("forward and backward thread switches follow set_* and the MAC counter reports itself") {
  autograd::set_forward_threads(true);
  CHECK(autograd::forward_threads());
  autograd::set_forward_threads(false);
  CHECK_FALSE(autograd::forward_threads());
  autograd::set_backward_threads(true);
  CHECK(autograd::backward_threads());
  autograd::set_backward_threads(false);
  CHECK_FALSE(autograd::backward_threads());
  // The defaults: on, unless the environment says 0 or the CUDA math is deterministic.
  autograd::reset_slot_thread_switches();
  auto env_off = [](const char* name) {
    const char* v = std::getenv(name);
    return v && std::string(v) == "0";
  };
  CHECK(autograd::forward_threads() == !env_off("CUTTLE_FORWARD_THREADS"));
  CHECK(autograd::backward_threads() == !env_off("CUTTLE_BACKWARD_THREADS"));
#ifdef CUTTLE_WITH_CUDA
  const bool tf32 = engine::cuda::allow_tf32();
  engine::set_cuda_math(tf32, true);
  CHECK_FALSE(autograd::forward_threads());
  CHECK_FALSE(autograd::backward_threads());
  autograd::set_backward_threads(true);  // an explicit setting wins
  CHECK(autograd::backward_threads());
  engine::set_cuda_math(tf32, false);
#endif
  autograd::reset_slot_thread_switches();
  CHECK_FALSE(autograd::mac_counter_active());
  {
    autograd::MacCounter c;
    CHECK(autograd::mac_counter_active());
  }
  CHECK_FALSE(autograd::mac_counter_active());
}

}  // TEST_SUITE
