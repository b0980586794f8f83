// Defines the op trace, a development tool: while an OpTrace lives on a thread, every engine op that
// thread runs (the ops routed by CUTTLE_ROUTE_CUDA, reductions, copies and fills) is counted by name,
// whichever device runs it. On a GPU nearly every op is one kernel launch (a few launch more: a
// contiguous copy of an input, two-pass reductions), so the counts show where a layer's kernels go and
// where fusion would pay (bench_moe --op-counts), even on a CPU-only machine. It also sums the host
// time each op takes to return: on a GPU, where ops only enqueue work, that is the op's host cost
// (bench_moe --op-host-times), which decides the speed of steps made of many small kernels.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace cuttle::engine {

class OpTrace {
 public:
  OpTrace();   // starts counting on this thread (traces nest: the inner one counts meanwhile)
  ~OpTrace();  // stops, and hands the counts to the enclosing trace if any
  OpTrace(const OpTrace&) = delete;
  OpTrace& operator=(const OpTrace&) = delete;

  const std::map<std::string, int64_t>& counts() const { return counts_; }
  // Host nanoseconds spent inside each op (from its start until it returned), by name.
  const std::map<std::string, int64_t>& host_ns() const { return host_ns_; }
  // Host nanoseconds and entries of each named section (HostSection) inside ops, at any depth.
  const std::map<std::string, int64_t>& section_ns() const { return section_ns_; }
  const std::map<std::string, int64_t>& section_counts() const { return section_counts_; }
  int64_t total() const { return total_ops(counts_); }
  static int64_t total_ops(const std::map<std::string, int64_t>& counts);

 private:
  friend class OpScope;
  friend class HostSection;
  std::map<std::string, int64_t> counts_, host_ns_, section_ns_, section_counts_;
  OpTrace* outer_;
};

// Marks the run of one engine op (declared at the top of the op, alive until it returns): counted
// in the thread's active trace unless another op is running on the thread already, since ops an op
// calls (a copy inside a CPU kernel, the batch norm inside CPU batch_norm_relu) are its own business.
// A thread-local check when no trace is active.
class OpScope {
 public:
  explicit OpScope(const char* name);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* counted_ = nullptr;  // the name, when this op is counted in a trace
  std::chrono::steady_clock::time_point start_;
};

// Times one part of an op's host work (a plan lookup, a cuDNN call, an allocation) while a trace
// lives on the thread, whatever the op depth: where an op's launch cost goes (bench_moe
// --op-host-times). A thread-local check when no trace is active.
class HostSection {
 public:
  explicit HostSection(const char* name);
  ~HostSection();
  HostSection(const HostSection&) = delete;
  HostSection& operator=(const HostSection&) = delete;

 private:
  const char* name_ = nullptr;  // set when a trace is active
  std::chrono::steady_clock::time_point start_;
};

// Whether a trace lives on this thread (autograd's backward then runs every node on it, so the
// trace sees them all).
bool op_trace_active();

// The ops of one call of `fn`, after an untraced warm-up call (first calls may take other paths: plan
// searches, lazily made buffers).
std::map<std::string, int64_t> count_ops(const std::function<void()>& fn);
// "name n, name n, ...", the most frequent first.
std::string ops_by_frequency(const std::map<std::string, int64_t>& counts);

}  // namespace cuttle::engine
