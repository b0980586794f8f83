#include "engine/op_trace.h"

namespace cuttle::engine {

namespace {
thread_local OpTrace* t_trace = nullptr;
thread_local int t_depth = 0;  // engine ops running on this thread
}

OpTrace::OpTrace() : outer_(t_trace) { t_trace = this; }

OpTrace::~OpTrace() {
  t_trace = outer_;
  if (outer_)
    for (const auto& [name, n] : counts_) outer_->counts_[name] += n;
}

int64_t OpTrace::total() const {
  int64_t n = 0;
  for (const auto& entry : counts_) n += entry.second;
  return n;
}

OpScope::OpScope(const char* name) {
  if (t_trace && t_depth == 0) ++t_trace->counts_[name];
  ++t_depth;
}

OpScope::~OpScope() { --t_depth; }

}  // namespace cuttle::engine
