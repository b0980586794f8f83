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
  if (!outer_) return;
  for (const auto& [name, n] : counts_) outer_->counts_[name] += n;
  for (const auto& [name, ns] : host_ns_) outer_->host_ns_[name] += ns;
  for (const auto& [name, ns] : section_ns_) outer_->section_ns_[name] += ns;
  for (const auto& [name, n] : section_counts_) outer_->section_counts_[name] += n;
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
  if (t_trace && t_depth == 0) {
    ++t_trace->counts_[name];
    counted_ = name;
    start_ = std::chrono::steady_clock::now();
  }
  ++t_depth;
}

OpScope::~OpScope() {
  --t_depth;
  // t_trace may have changed only if the op itself opened or closed a trace, which no op does.
  if (counted_ && t_trace)
    t_trace->host_ns_[counted_] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - start_).count();
}

HostSection::HostSection(const char* name) {
  if (!t_trace) return;
  name_ = name;
  start_ = std::chrono::steady_clock::now();
}

HostSection::~HostSection() {
  if (!name_ || !t_trace) return;
  t_trace->section_ns_[name_] +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
  ++t_trace->section_counts_[name_];
}

bool op_trace_active() { return t_trace != nullptr; }

}  // namespace cuttle::engine
