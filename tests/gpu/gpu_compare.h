// Defines what the CUDA-vs-CPU tests of convolution, normalisation and dropout share: the skip when
// no GPU is present, output poisoning (every GPU allocation filled with NaN while a guard lives), and
// a closeness measure that fails on NaN. GPU test cases whose names start with "sanitize:" use small
// shapes and form the compute-sanitizer subset (scripts/gpu_check.sh).
#pragma once
#include <cmath>
#include <limits>

#include "tests/test_util.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::test::gpu {

inline bool gpu_present() {
#ifdef CUTTLE_WITH_CUDA
  if (engine::cuda::available()) return true;
  MESSAGE("skipped: no CUDA device visible");
#else
  MESSAGE("skipped: built without the CUDA backend");
#endif
  return false;
}

inline const engine::Device kGpu = engine::Device::cuda(0);
inline const engine::Device kCpu = engine::Device::cpu();

// While alive, every GPU allocation starts as NaN, so an output element a kernel forgets to write
// fails the comparison.
struct Poison {
#ifdef CUTTLE_WITH_CUDA
  Poison() { engine::cuda::set_poison_allocations(true); }
  ~Poison() { engine::cuda::set_poison_allocations(false); }
#endif
};

// max |got - ref| / max(1, max |ref|) with `got` brought from the GPU; infinity when got has a NaN or
// infinity where ref is finite (an unwritten or overflowing element), or shapes differ.
inline double rel_err(const Tensor& got, const Tensor& ref) {
  if (!got.defined() || !ref.defined() || got.shape() != ref.shape()) return std::numeric_limits<double>::infinity();
  const std::vector<double> g = got.to(kCpu).to_vector<double>(), r = ref.to(kCpu).to_vector<double>();
  double scale = 1, m = 0;
  for (double v : r) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) {
    if (!std::isfinite(g[i]) && std::isfinite(r[i])) return std::numeric_limits<double>::infinity();
    if (std::isfinite(r[i])) m = std::max(m, std::abs(g[i] - r[i]));
  }
  return m / scale;
}

inline Tensor gpu_or_none(const Tensor& t) { return t.defined() ? t.to(kGpu) : Tensor(); }

}  // namespace cuttle::test::gpu
