// Defines what the CUDA-versus-CPU op tests share: the GPU presence check that skips with a message,
// output poisoning (every GPU allocation NaN-filled while a Poison guard lives), a comparison that
// fails on NaN where the reference has none, and strided (non-contiguous) GPU copies of inputs.
#pragma once
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/test_util.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/runtime.h"
#endif

namespace cuttle::test::gpu {

inline const engine::Device kGpu = engine::Device::cuda(0);
inline const engine::Device kCpu = engine::Device::cpu();

inline bool gpu_present() {
#ifdef CUTTLE_WITH_CUDA
  if (engine::cuda::available()) return true;
  MESSAGE("skipped: no CUDA device visible");
#else
  MESSAGE("skipped: built without the CUDA backend");
#endif
  return false;
}

// While alive, every new GPU allocation is filled with 0xFF bytes: NaN in f32/f64, -1 in integers.
struct Poison {
#ifdef CUTTLE_WITH_CUDA
  Poison() { engine::cuda::set_debug_fill(0xFF); }
  ~Poison() { engine::cuda::set_debug_fill(-1); }
#endif
};

// max |got - ref| / max(1, max |ref|) with got brought to the CPU; infinity when the shapes differ
// or an element is NaN in one and not the other (an unwritten, poisoned element).
inline double rel_err(const Tensor& got, const Tensor& ref) {
  if (got.shape() != ref.shape()) return std::numeric_limits<double>::infinity();
  const std::vector<double> a = got.to(kCpu).to_vector<double>(), b = ref.to(kCpu).to_vector<double>();
  double scale = 1, m = 0;
  for (double v : b)
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(a[i])) continue;
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i]) return std::numeric_limits<double>::infinity();
      continue;
    }
    m = std::max(m, std::abs(a[i] - b[i]));
  }
  return m / scale;
}

// Exact equality (values and NaN positions) after moving to the CPU.
inline bool same(const Tensor& got, const Tensor& ref) { return rel_err(got, ref) == 0.0; }

inline Tensor on_gpu(const Tensor& t) { return t.to(kGpu); }

// The same values on the GPU as a non-contiguous view (every other element of a wider last axis).
inline Tensor strided_on_gpu(const Tensor& t) {
  if (t.dim() == 0) return t.to(kGpu);
  Shape wide = t.shape();
  wide.back() *= 2;
  Tensor big = Tensor::zeros(wide, t.dtype(), kGpu);
  Tensor view = big.slice(-1, 0, wide.back(), 2);
  view.copy_(t);
  return view;
}

}  // namespace cuttle::test::gpu
