// Defines parallel_for: splits a range over the OpenMP threads in fixed, contiguous chunks, so every
// output element is written by exactly one thread and results do not depend on the thread count.
// An exception thrown by the body reaches the caller (that of the lowest failing chunk, so the same
// input gives the same message); one escaping an OpenMP region would end the program.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>

namespace cuttle::engine {

// Below this many elements of work an op runs on the calling thread: waking threads costs more.
constexpr int64_t kParallelGrain = 32768;

int num_threads();
void set_num_threads(int n);

template <typename Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Fn& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int threads = omp_in_parallel() ? 1 : num_threads();
  const int64_t chunks = std::min<int64_t>(threads, (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  std::mutex error_mutex;
  std::exception_ptr error;
  int64_t error_chunk = chunks;
#pragma omp parallel for num_threads((int)chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = begin + n * c / chunks;
    const int64_t e = begin + n * (c + 1) / chunks;
    try {
      fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (c < error_chunk) {
        error_chunk = c;
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace cuttle::engine
