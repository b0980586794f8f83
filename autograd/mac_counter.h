// Defines MacCounter: while one is alive on a thread, the forward of every conv2d, linear, matmul and
// scaled-dot-product attention run on that thread adds its multiply-adds (MACs) to it, per op name.
// What model_info reports as forward FLOPs. Backward passes are not counted (their GEMMs run inside
// the tape's closures, which call the engine directly). Counters nest: the inner one counts alone.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace cuttle::autograd {

class MacCounter {
 public:
  MacCounter();
  ~MacCounter();
  MacCounter(const MacCounter&) = delete;
  MacCounter& operator=(const MacCounter&) = delete;

  int64_t total() const { return total_; }
  // "conv2d", "linear", "matmul", "attention" -> MACs.
  const std::map<std::string, int64_t>& by_op() const { return by_op_; }

 private:
  friend void count_macs(const char* op, int64_t macs);
  MacCounter* previous_;
  int64_t total_ = 0;
  std::map<std::string, int64_t> by_op_;
};

// Whether a counter is alive on this thread.
bool mac_counter_active();

// Adds to this thread's active counter; a no-op (one thread-local read) when there is none.
void count_macs(const char* op, int64_t macs);

}  // namespace cuttle::autograd
