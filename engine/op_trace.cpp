#include "engine/op_trace.h"

#include <algorithm>
#include <utility>
#include <vector>

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

int64_t OpTrace::total_ops(const std::map<std::string, int64_t>& counts) {
  int64_t n = 0;
  for (const auto& entry : counts) n += entry.second;
  return n;
}

std::map<std::string, int64_t> count_ops(const std::function<void()>& fn) {
  fn();
  OpTrace trace;
  fn();
  return trace.counts();
}

std::string ops_by_frequency(const std::map<std::string, int64_t>& counts) {
  std::vector<std::pair<int64_t, std::string>> top;
  for (const auto& [name, n] : counts) top.emplace_back(n, name);
  std::sort(top.rbegin(), top.rend());
  std::string out;
  for (const auto& [n, name] : top) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return out;
}

OpScope::OpScope(const char* name) {
  if (t_trace && t_depth == 0) ++t_trace->counts_[name];
  ++t_depth;
}

OpScope::~OpScope() { --t_depth; }

}  // namespace cuttle::engine
