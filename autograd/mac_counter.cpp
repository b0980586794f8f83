// Implements MacCounter with one thread-local pointer to the innermost live counter.
#include "autograd/mac_counter.h"

namespace cuttle::autograd {

namespace {
thread_local MacCounter* g_active = nullptr;
}

MacCounter::MacCounter() : previous_(g_active) { g_active = this; }
MacCounter::~MacCounter() { g_active = previous_; }

bool mac_counter_active() { return g_active != nullptr; }

void count_macs(const char* op, int64_t macs) {
  if (!g_active) return;
  g_active->total_ += macs;
  g_active->by_op_[op] += macs;
}

}  // namespace cuttle::autograd
