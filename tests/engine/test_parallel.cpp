// Tests of parallel_for: fixed chunks whatever the thread count, and a body's exception reaching the
// caller (the lowest failing chunk's) instead of ending the program inside the OpenMP region.
#include "engine/parallel.h"
#include "tests/test_util.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace cuttle;

TEST_SUITE("engine") {

TEST_CASE("parallel_for covers the range once and passes a body's exception to the caller") {
  struct ThreadsRestored {
    int saved = engine::num_threads();
    ~ThreadsRestored() { engine::set_num_threads(saved); }
  } restore;
  engine::set_num_threads(2);
  std::vector<int> hits(100, 0);
  engine::parallel_for(0, 100, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ++hits[(size_t)i];
  });
  for (int h : hits) CHECK(h == 1);

  std::atomic<int> bodies{0};
  try {
    engine::parallel_for(0, 100, 1, [&](int64_t b, int64_t) {
      ++bodies;
      // The first chunk throws last: its error must still be the one that comes through.
      if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      throw std::runtime_error("chunk at " + std::to_string(b));
    });
    FAIL("expected the body's exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "chunk at 0");  // both chunks threw; the first one's error wins
  }
  CHECK(bodies.load() == 2);  // every chunk ran to its end before the rethrow

  // Only a later chunk fails: its error comes through, and the region still joins.
  try {
    engine::parallel_for(0, 100, 1, [&](int64_t b, int64_t) {
      if (b > 0) throw std::invalid_argument("late chunk");
    });
    FAIL("expected the body's exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "late chunk");
  }
}

}
